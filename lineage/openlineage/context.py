"""What the intake keeps besides the database, held in explicit objects passed through every step.

* :class:`IntakeCaches` -- one per process (on the lineage app config): ids of datasets and jobs
  already resolved (assets and jobs are never hard-deleted) and the digest of the facets last
  applied to each job or dataset. Entries are published only when the transaction that made
  them commits, so a rolled-back registration never stays cached.
* :class:`BatchState` -- what the events of one batch (one transaction) share: one graph version,
  the audit summaries, the registrations not committed yet, and on the fast path the runs,
  columns and edges read in bulk for the whole batch.
* :class:`Intake` -- the context of one ingest call: the caches, the acting user and the batch
  (``None`` for a single event). Every apply step takes it instead of reading module state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import transaction

if TYPE_CHECKING:
    from catalog.models import Column
    from core.types import Actor
    from lineage.models import DatasetFacets, Job, Run
    from lineage.services import EdgeIndex


@dataclass
class IntakeCaches:
    """Per-process memory of the intake (see the module docstring)."""

    assets: dict[tuple[str, str], int] = field(default_factory=dict)
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    # Digest of the facets this process last applied to a job or dataset: an event repeating them
    # (the common case: every run of a job sends the same schema and SQL) skips reading the row.
    # Facet times then stay at the earlier event, which only matters if an older, different facet
    # arrives later -- it would win; acceptable for facets that did not change.
    seen: dict[tuple, str] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget everything (tests roll the database back between cases)."""
        self.assets.clear()
        self.jobs.clear()
        self.seen.clear()


def process_caches() -> IntakeCaches:
    """This process's caches (created by the lineage app config at start-up)."""
    return apps.get_app_config("lineage").intake_caches


def reset_caches() -> None:
    """Forget this process's resolved ids and applied facets."""
    process_caches().reset()


@dataclass
class BatchState:
    """State shared by the events of one batch (one transaction): one graph version, one audit
    event, the facets already applied and the datasets and jobs registered in it. The fast path
    (all events in one savepoint) also reads runs, columns and edges through caches filled with
    a few queries for the whole batch, and resolves datasets and jobs this process has not seen
    yet in bulk (``None`` on the event-by-event path)."""

    version: int | None = None
    seen: dict[tuple, str] = field(default_factory=dict)
    audited: list[dict[str, Any]] = field(default_factory=list)
    registered: dict[tuple, int] = field(default_factory=dict)
    runs: dict[uuid.UUID, Run] | None = None
    touched_runs: dict[uuid.UUID, Run] = field(default_factory=dict)
    columns: dict[int, dict[str, Column]] | None = None
    edges: EdgeIndex | None = None
    # Fast path only: the batch's jobs by (namespace, name) and its datasets' facet rows by asset
    # id, read with one query each and kept current by the events' writes.
    jobs: dict[tuple[str, str], Job] | None = None
    dataset_facets: dict[int, DatasetFacets] | None = None
    # ... and those of them the events changed, written with the batch's other rows (by id).
    changed_jobs: dict[int, Job] = field(default_factory=dict)
    changed_facets: dict[int, DatasetFacets] = field(default_factory=dict)
    # Digest of each dataset's facets object in the batch's payloads, by id() (they live as long).
    facet_digests: dict[int, str] = field(default_factory=dict)


@dataclass
class EventStats:
    """Counts and ids one event's intake gathers (for its response and audit summary)."""

    producer: str = ""  # the event's producer URI (recorded on the aliases it creates)
    datasets_registered: int = 0
    aliases_created: int = 0
    alias_conflicts: int = 0  # symlinks naming an identifier that is already another asset
    descriptions: int = 0  # asset descriptions written from documentation facets
    description_suggestions: int = 0  # ... kept as suggestions (a steward wrote the description)
    classifications_imported: int = 0
    model_versions: list[int] = field(default_factory=list)
    job_id: int | None = None
    # Facet digests applied by this event, remembered by the caches once it commits.
    seen: dict[tuple, str] = field(default_factory=dict)


@dataclass
class Intake:
    """The context of one ingest call (see the module docstring)."""

    caches: IntakeCaches
    actor: Actor
    batch: BatchState | None = None

    def _cache(self, kind: str) -> dict[tuple[str, str], int]:
        return self.caches.assets if kind == "asset" else self.caches.jobs

    def cached(self, kind: str, key: tuple[str, str]) -> int | None:
        """The id of a dataset (``kind="asset"``) or job known to this process or this batch."""
        found = self._cache(kind).get(key)
        if found is None and self.batch is not None:
            found = self.batch.registered.get((kind, *key))
        return found

    def remember(self, kind: str, key: tuple[str, str], value: int) -> None:
        # Published when the transaction commits (a rolled-back registration must not stay cached);
        # until then the batch's own overlay answers.
        if self.batch is not None:
            self.batch.registered[(kind, *key)] = value
        cache = self._cache(kind)
        transaction.on_commit(lambda: cache.__setitem__(key, value))

    def was_seen(self, key: tuple, digest: str) -> bool:
        return self.caches.seen.get(key) == digest or (self.batch is not None and self.batch.seen.get(key) == digest)

    def seen_after_commit(self, key: tuple, digest: str) -> None:
        # Remember only what committed: a rolled-back event must not make its facets look applied.
        seen = self.caches.seen
        transaction.on_commit(lambda: seen.__setitem__(key, digest))

    @property
    def edge_index(self) -> EdgeIndex | None:
        return self.batch.edges if self.batch is not None else None

    @property
    def batch_columns(self) -> dict[int, dict[str, Column]] | None:
        return self.batch.columns if self.batch is not None else None

    @property
    def batch_runs(self) -> dict[uuid.UUID, Run] | None:
        return self.batch.runs if self.batch is not None else None
