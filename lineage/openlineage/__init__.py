"""OpenLineage intake (spec 2-0-2): RunEvent, DatasetEvent and JobEvent.

* :mod:`.validation` -- the event checked against the spec (our own checks, cross-tested with
  the official JSON Schemas): :func:`validate_event`, :class:`EventInvalid`, :func:`parse_time`;
* :mod:`.context` -- the caches and per-batch state, held in explicit objects passed through;
* :mod:`.resolve`, :mod:`.facets`, :mod:`.columns`, :mod:`.apply` -- merging one event into the
  catalog and the provenance graph;
* :mod:`.batch` -- the services :func:`event_ingest` and :func:`event_ingest_batch`.

What an event does is documented in docs/lineage.md.
"""

from lineage.openlineage.batch import event_ingest, event_ingest_batch
from lineage.openlineage.context import IntakeCaches, process_caches, reset_caches
from lineage.openlineage.resolve import source_kind_for
from lineage.openlineage.validation import Event, EventInvalid, digest_of, parse_time, validate_event

__all__ = [
    "Event",
    "EventInvalid",
    "IntakeCaches",
    "digest_of",
    "event_ingest",
    "event_ingest_batch",
    "parse_time",
    "process_caches",
    "reset_caches",
    "source_kind_for",
    "validate_event",
]
