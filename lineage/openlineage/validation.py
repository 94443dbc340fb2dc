"""Validation of OpenLineage events (spec 2-0-2): RunEvent, DatasetEvent and JobEvent.

Written from the spec's JSON Schema (tests cross-check it against the official schemas): the
required fields, their types, UUID run ids, RFC 3339 times, and the shape of the facets we
interpret. Facets we do not interpret are kept as they are. Values stored in length-limited
columns must fit them (limits read from the models). Messages name the JSON path and the
problem, never the value.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from catalog.choices import ModelStage
from catalog.models import Column, DataAsset, DataSource, MLModel, ModelVersion, Tag
from lineage.choices import EventKind, RunState
from lineage.models import Edge, Job, LineageEvent, Run

MODEL_FACET = "custosModel"  # our own output-dataset facet: {"model": name, "version": v, "stage"?: ...}


class EventInvalid(ValueError):
    """The event breaks the spec; the message names the JSON path and the problem (never values)."""


def _require(obj: dict, name: str, kind: type | tuple[type, ...], path: str) -> Any:
    if name not in obj:
        raise EventInvalid(f"{path}.{name}: required")
    return _typed(obj[name], kind, f"{path}.{name}")


def _typed(value: Any, kind: type | tuple[type, ...], path: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
        expected = names.get(kind, "a string") if isinstance(kind, type) else "a valid value"
        raise EventInvalid(f"{path}: must be {expected}")
    return value


def _optional(obj: dict, name: str, kind: type, path: str, default: Any = None) -> Any:
    if name not in obj or obj[name] is None and kind is not dict:
        return default
    return _typed(obj[name], kind, f"{path}.{name}")


# RFC 3339 section 5.6 ``date-time`` (``T``/``Z`` in either case, as its ABNF says; fraction of any
# length; offset ``Z`` or ``+hh:mm``). ISO 8601 forms RFC 3339 does not allow -- ``+0000``, a
# space separator, basic format -- are rejected, with the reason, although Python parses them.
RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?P<sep>.)(?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def _rfc3339_problem(value: str) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time (``None`` when it is one)."""
    match = RFC3339.fullmatch(value)
    if match is None:
        compact = re.fullmatch(r"\d{4}-\d{2}-\d{2}.\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{4}|[+-]\d{2})", value, re.ASCII)
        if compact:
            return "the offset must be Z or +hh:mm with a colon (e.g. +00:00, not +0000)"
        return "expected YYYY-MM-DDThh:mm:ss[.fraction] followed by Z or +hh:mm"
    if match["sep"] not in "Tt":
        return "date and time must be separated by T (a space is ISO 8601, not RFC 3339)"
    if match["offset"] is None:
        return "a time-zone offset (Z or +hh:mm) is required"
    return None


def parse_time(value: Any, path: str) -> datetime:
    """An RFC 3339 date-time (``eventTime``, ``at``) as an aware UTC datetime; :class:`EventInvalid`
    saying what RFC 3339 does not allow otherwise."""
    _typed(value, str, path)
    problem = _rfc3339_problem(value)
    if problem is not None:
        if problem.startswith("a time-zone"):
            raise EventInvalid(f"{path}: must be an RFC 3339 date-time with a time-zone offset")
        raise EventInvalid(f"{path}: must be an RFC 3339 date-time: {problem}")
    match = RFC3339.fullmatch(value)
    frac = (match["frac"] or "")[:7]  # Python keeps microseconds; producers send up to nanoseconds
    offset = match["offset"].upper()
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{frac}{'+00:00' if offset == 'Z' else offset}")
    except ValueError:
        raise EventInvalid(f"{path}: must be an RFC 3339 date-time: a field is out of range") from None
    return parsed.astimezone(UTC)


def _uri(value: Any, path: str) -> str:
    _typed(value, str, path)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        raise EventInvalid(f"{path}: must be a URI")
    return value


@cache  # model fields do not change while the process runs; looked up for every value of every event
def _max_length(*fields: tuple[type, str]) -> int:
    """The smallest ``max_length`` of the model fields that store a value (read from ``_meta``)."""
    return min(model._meta.get_field(name).max_length for model, name in fields)


def _fits(value: Any, path: str, *fields: tuple[type, str], what: str = "") -> None:
    """A string stored in ``fields`` must fit them: a longer one is rejected, never cut or left
    to the database (which would fail the request, or on SQLite store it whole)."""
    limit = _max_length(*fields)
    if isinstance(value, str) and len(value) > limit:
        raise EventInvalid(f"{path}: {what or 'must be'} at most {limit} characters")


DATASET_NAMESPACE = ((DataSource, "namespace"),)
DATASET_NAME = ((DataAsset, "qualified_name"),)
JOB_NAMESPACE = ((Job, "namespace"), (LineageEvent, "job_namespace"))
JOB_NAME = ((Job, "name"), (LineageEvent, "job_name"))
PRODUCER = ((Run, "producer"), (LineageEvent, "producer"), (Edge, "producer"))
FIELD_NAME = ((Column, "name"),)


def _facets(obj: dict, name: str, path: str) -> dict[str, dict]:
    facets = _optional(obj, name, dict, path, default={})
    for facet_name, facet in facets.items():
        where = f"{path}.{name}.{facet_name}"
        _typed(facet, dict, where)
        if facet.get("_deleted") is True:
            continue
        for required in ("_producer", "_schemaURL"):
            if required not in facet:
                raise EventInvalid(f"{where}.{required}: required")
            _uri(facet[required], f"{where}.{required}")
    return facets


def _dataset(obj: Any, path: str, *, io: str | None = None) -> dict:
    _typed(obj, dict, path)
    _require(obj, "namespace", str, path)
    _require(obj, "name", str, path)
    if not obj["namespace"] or not obj["name"]:
        raise EventInvalid(f"{path}: namespace and name must not be empty")
    _fits(obj["namespace"], f"{path}.namespace", *DATASET_NAMESPACE)
    _fits(obj["name"], f"{path}.name", *DATASET_NAME)
    facets = _facets(obj, "facets", path)
    if io:
        _facets(obj, f"{io}Facets", path)
    _check_dataset_facets(facets, f"{path}.facets")
    if io == "output":
        _check_model_facet(facets, f"{path}.facets")
    return obj


def _check_model_facet(facets: dict, path: str) -> None:
    facet = facets.get(MODEL_FACET)
    if not isinstance(facet, dict) or not isinstance(facet.get("model"), str) or not isinstance(facet.get("version"), str):
        return  # not a model output (the facet is then kept like any other)
    _fits(facet["model"], f"{path}.{MODEL_FACET}.model", (MLModel, "name"))
    _fits(facet["version"], f"{path}.{MODEL_FACET}.version", (ModelVersion, "version"))
    stage = str(facet.get("stage", ""))
    if stage and stage not in ModelStage.values:
        raise EventInvalid(f"{path}.{MODEL_FACET}.stage: must be one of {', '.join(ModelStage.values)}")


def _check_dataset_facets(facets: dict, path: str) -> None:
    schema = facets.get("schema")
    if schema and not schema.get("_deleted"):
        fields = _require(schema, "fields", list, f"{path}.schema")
        _check_fields(fields, f"{path}.schema.fields")
    lineage = facets.get("columnLineage")
    if lineage and not lineage.get("_deleted"):
        fields = _require(lineage, "fields", dict, f"{path}.columnLineage")
        for out_name, spec in fields.items():
            _fits(out_name, f"{path}.columnLineage.fields", *FIELD_NAME, what="field names must be")
            where = f"{path}.columnLineage.fields.{out_name}"
            _typed(spec, dict, where)
            _fits(spec.get("transformationType"), f"{where}.transformationType", (Edge, "transformation_type"))
            for i, item in enumerate(_require(spec, "inputFields", list, where)):
                _input_field(item, f"{where}.inputFields[{i}]")
        for i, item in enumerate(_optional(lineage, "dataset", list, f"{path}.columnLineage", default=[])):
            _input_field(item, f"{path}.columnLineage.dataset[{i}]")
    symlinks = facets.get("symlinks")
    if symlinks and not symlinks.get("_deleted"):
        for i, item in enumerate(_optional(symlinks, "identifiers", list, f"{path}.symlinks", default=[])):
            where = f"{path}.symlinks.identifiers[{i}]"
            _typed(item, dict, where)
            for name in ("namespace", "name", "type"):
                _require(item, name, str, where)
            if not item["namespace"] or not item["name"]:
                raise EventInvalid(f"{where}: namespace and name must not be empty")
            _fits(item["namespace"], f"{where}.namespace", *DATASET_NAMESPACE)
            _fits(item["name"], f"{where}.name", *DATASET_NAME)
    documentation = facets.get("documentation")
    if documentation and not documentation.get("_deleted"):
        _require(documentation, "description", str, f"{path}.documentation")
    explicit = facets.get("lineage")
    if explicit and not explicit.get("_deleted"):
        _check_lineage_facet(explicit, f"{path}.lineage")
    for facet_name, list_name in (("ownership", "owners"), ("tags", "tags")):
        facet = facets.get(facet_name)
        if facet and not facet.get("_deleted"):
            for i, item in enumerate(_optional(facet, list_name, list, f"{path}.{facet_name}", default=[])):
                where = f"{path}.{facet_name}.{list_name}[{i}]"
                _typed(item, dict, where)
                _require(item, "name" if facet_name == "ownership" else "key", str, where)
                if facet_name == "tags":
                    _require(item, "value", str, where)
                    _fits(tag_name(item), where, (Tag, "name"), what="key and value must be")


def _check_fields(fields: list, path: str, prefix: str = "") -> None:
    for i, item in enumerate(fields):
        _typed(item, dict, f"{path}[{i}]")
        name = prefix + _require(item, "name", str, f"{path}[{i}]")
        # Nested fields become columns named ``parent.child``: the whole name must fit.
        _fits(name, f"{path}[{i}].name", *FIELD_NAME, what="with its parents' names must be" if prefix else "")
        _fits(_optional(item, "type", str, f"{path}[{i}]"), f"{path}[{i}].type", (Column, "data_type"))
        _optional(item, "description", str, f"{path}[{i}]")
        _check_fields(_optional(item, "fields", list, f"{path}[{i}]", default=[]), f"{path}[{i}].fields", f"{name}.")


def _check_lineage_facet(facet: dict, path: str) -> None:
    """The dataset ``lineage`` facet (LineageDatasetFacet): ``inputs`` and ``fields.<f>.inputs``
    list LineageInputs -- a DATASET (namespace, name, optional field) or a JOB."""
    for i, item in enumerate(_optional(facet, "inputs", list, path, default=[])):
        _lineage_input(item, f"{path}.inputs[{i}]")
    for out_name, entry in _optional(facet, "fields", dict, path, default={}).items():
        _fits(out_name, f"{path}.fields", *FIELD_NAME, what="field names must be")
        where = f"{path}.fields.{out_name}"
        _typed(entry, dict, where)
        for i, item in enumerate(_require(entry, "inputs", list, where)):
            _lineage_input(item, f"{where}.inputs[{i}]")


def _lineage_input(item: Any, path: str) -> None:
    _typed(item, dict, path)
    kind = _require(item, "type", str, path)
    if kind == "DATASET":
        for name in ("namespace", "name"):
            _require(item, name, str, path)
        _fits(item["namespace"], f"{path}.namespace", *DATASET_NAMESPACE)
        _fits(item["name"], f"{path}.name", *DATASET_NAME)
        _fits(_optional(item, "field", str, path), f"{path}.field", *FIELD_NAME)
    elif kind == "JOB":
        if ("namespace" in item) != ("name" in item):
            raise EventInvalid(f"{path}: namespace and name go together")
        _optional(item, "namespace", str, path)
        _optional(item, "name", str, path)
        if "runId" in item:
            try:
                uuid.UUID(_typed(item["runId"], str, f"{path}.runId"))
            except ValueError:
                raise EventInvalid(f"{path}.runId: must be a UUID") from None
    else:
        raise EventInvalid(f"{path}.type: must be DATASET or JOB")
    _transformations(item, path)


def _transformations(item: dict, path: str) -> None:
    for j, transformation in enumerate(_optional(item, "transformations", list, path, default=[])):
        where = f"{path}.transformations[{j}]"
        _typed(transformation, dict, where)
        _fits(_require(transformation, "type", str, where), f"{where}.type", (Edge, "transformation_type"))
        _fits(_optional(transformation, "subtype", str, where), f"{where}.subtype", (Edge, "transformation_subtype"))
        _optional(transformation, "description", str, where)
        _optional(transformation, "masking", bool, where)


def _input_field(item: Any, path: str) -> None:
    _typed(item, dict, path)
    for name in ("namespace", "name", "field"):
        _require(item, name, str, path)
    _fits(item["namespace"], f"{path}.namespace", *DATASET_NAMESPACE)
    _fits(item["name"], f"{path}.name", *DATASET_NAME)
    _fits(item["field"], f"{path}.field", *FIELD_NAME)
    _transformations(item, path)


def _job(obj: Any, path: str) -> dict:
    _typed(obj, dict, path)
    _fits(_require(obj, "namespace", str, path), f"{path}.namespace", *JOB_NAMESPACE)
    _fits(_require(obj, "name", str, path), f"{path}.name", *JOB_NAME)
    facets = _facets(obj, "facets", path)
    sql = facets.get("sql")
    if sql and not sql.get("_deleted"):
        _require(sql, "query", str, f"{path}.facets.sql")
    location = facets.get("sourceCodeLocation")
    if location and "url" in location:
        _typed(location["url"], str, f"{path}.facets.sourceCodeLocation.url")
        _fits(location["url"], f"{path}.facets.sourceCodeLocation.url", (Run, "code_location"))
    return obj


@dataclass
class Event:
    """A validated event, with what the intake needs pulled out."""

    kind: str
    payload: dict
    event_time: datetime
    event_type: str
    producer: str
    run_id: uuid.UUID | None = None
    run_facets: dict = field(default_factory=dict)
    job: dict | None = None
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    dataset: dict | None = None


def validate_event(payload: Any) -> Event:
    """Check ``payload`` against the spec; returns an :class:`Event` or raises :class:`EventInvalid`."""
    _typed(payload, dict, "event")
    event_time = parse_time(_require(payload, "eventTime", str, "event"), "event.eventTime")
    producer = _uri(_require(payload, "producer", str, "event"), "event.producer")
    _fits(producer, "event.producer", *PRODUCER)
    _uri(_require(payload, "schemaURL", str, "event"), "event.schemaURL")
    event_type = _optional(payload, "eventType", str, "event", default="")
    if "run" in payload:
        kind = EventKind.RUN
        if "job" not in payload:
            raise EventInvalid("event.job: required")
        if event_type and event_type not in RunState.values:
            raise EventInvalid(f"event.eventType: must be one of {', '.join(RunState.values)}")
    elif "dataset" in payload:
        kind = EventKind.DATASET
        if "job" in payload:
            raise EventInvalid("event: a DatasetEvent has no job (a RunEvent needs run and job)")
    elif "job" in payload:
        kind = EventKind.JOB
    else:
        raise EventInvalid("event: not a RunEvent (run, job), DatasetEvent (dataset) or JobEvent (job)")
    event = Event(kind=kind, payload=payload, event_time=event_time, event_type=event_type, producer=producer)
    if kind == EventKind.RUN:
        run = _typed(payload["run"], dict, "event.run")
        raw_id = _require(run, "runId", str, "event.run")
        try:
            event.run_id = uuid.UUID(raw_id)
        except ValueError:
            raise EventInvalid("event.run.runId: must be a UUID") from None
        event.run_facets = _facets(run, "facets", "event.run")
        parent = event.run_facets.get("parent")
        if parent and not parent.get("_deleted"):
            _job(_require(parent, "job", dict, "event.run.facets.parent"), "event.run.facets.parent.job")
            parent_run = _require(parent, "run", dict, "event.run.facets.parent")
            # required/type first: a missing runId is reported as missing, not as a bad UUID
            parent_run_id = _require(parent_run, "runId", str, "event.run.facets.parent.run")
            try:
                uuid.UUID(parent_run_id)
            except ValueError:
                raise EventInvalid("event.run.facets.parent.run.runId: must be a UUID") from None
    if kind == EventKind.DATASET:
        event.dataset = _dataset(payload["dataset"], "event.dataset")
    else:
        event.job = _job(payload["job"], "event.job")
        for io in ("inputs", "outputs"):
            items = _optional(payload, io, list, "event", default=[])
            setattr(event, io, [_dataset(item, f"event.{io}[{i}]", io=io[:-1]) for i, item in enumerate(items)])
    return event


def digest_of(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def tag_name(item: dict) -> str:
    """The catalog tag name of a ``tags`` facet entry: ``key``, or ``key:value``."""
    key, value = item["key"], item.get("value", "")
    return key if value in ("", "true") else f"{key}:{value}"
