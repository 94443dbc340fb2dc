"""OpenLineage intake: validation of RunEvent, DatasetEvent and JobEvent (spec 2-0-2) and the
service that merges one event into the catalog and the provenance graph.

Validation is our own, written from the spec's JSON Schema (tests cross-check it against the
official schemas): the required fields, their types, UUID run ids, RFC 3339 times, and the
shape of the facets we interpret. Facets we do not interpret are kept as they are.

What an event does (see docs/lineage.md): unknown datasets and columns are registered in the
catalog; ``schema`` registers columns; ``columnLineage`` adds column derivations with their
transformations and ``masking`` (its ``dataset`` inputs link to every output column); ``ownership`` sets asset owners that match Custos users;
``tags`` tag assets and columns (a ``pii`` tag becomes an imported classification); ``sql`` and
``sourceCodeLocation`` become the run's code; ``parent`` links runs and jobs. Events are merged
idempotently: a payload seen before is a no-op, facets keep the newest event's value, run state
follows the newest event, and an older event never closes what a newer one asserted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from audit.services import record
from catalog import services as catalog
from catalog.choices import AssetKind, ClassificationSource, ModelStage, SourceKind
from catalog.models import Classification, Column, DataAsset, DataSource, MLModel, ModelVersion, Tag
from lineage.bulk import rows_insert, rows_update
from lineage.choices import INDIRECT, TERMINAL_STATES, EdgeKind, EventKind, NodeType, RunState
from lineage.models import DatasetFacets, Edge, Job, LineageEvent, Run
from lineage.services import (
    EdgeChanges,
    EdgeIndex,
    EdgeSpec,
    _after_commit_propagate,
    actor_name,
    edges_assert,
    edges_close,
    graph_version_bump,
)

MODEL_FACET = "custosModel"  # our own output-dataset facet: {"model": name, "version": v, "stage"?: ...}
ENTITY_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
SCHEME_KINDS = {
    "postgres": SourceKind.POSTGRESQL,
    "postgresql": SourceKind.POSTGRESQL,
    "mysql": SourceKind.MYSQL,
    "sqlite": SourceKind.SQLITE,
    "snowflake": SourceKind.SNOWFLAKE,
    "bigquery": SourceKind.BIGQUERY,
    "s3": SourceKind.OBJECT_STORE,
    "s3a": SourceKind.OBJECT_STORE,
    "gs": SourceKind.OBJECT_STORE,
    "abfss": SourceKind.OBJECT_STORE,
    "wasbs": SourceKind.OBJECT_STORE,
    "file": SourceKind.FILE_SHARE,
    "hdfs": SourceKind.FILE_SHARE,
    "kafka": SourceKind.KAFKA,
}
logger = logging.getLogger(__name__)
ASSET_KINDS = {SourceKind.KAFKA: AssetKind.STREAM, SourceKind.OBJECT_STORE: AssetKind.FILE, SourceKind.FILE_SHARE: AssetKind.FILE}


class EventInvalid(ValueError):
    """The event breaks the spec; the message names the JSON path and the problem (never values)."""


# --- validation ---------------------------------------------------------------------------------


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


def parse_time(value: Any, path: str) -> datetime:
    _typed(value, str, path)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventInvalid(f"{path}: must be an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise EventInvalid(f"{path}: must be an RFC 3339 date-time with a time-zone offset")
    return parsed.astimezone(UTC)


def _uri(value: Any, path: str) -> str:
    _typed(value, str, path)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        raise EventInvalid(f"{path}: must be a URI")
    return value


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
    for facet_name, list_name in (("ownership", "owners"), ("tags", "tags")):
        facet = facets.get(facet_name)
        if facet and not facet.get("_deleted"):
            for i, item in enumerate(_optional(facet, list_name, list, f"{path}.{facet_name}", default=[])):
                where = f"{path}.{facet_name}.{list_name}[{i}]"
                _typed(item, dict, where)
                _require(item, "name" if facet_name == "ownership" else "key", str, where)
                if facet_name == "tags":
                    _require(item, "value", str, where)
                    _fits(_tag_name(item), where, (Tag, "name"), what="key and value must be")


def _check_fields(fields: list, path: str, prefix: str = "") -> None:
    for i, item in enumerate(fields):
        _typed(item, dict, f"{path}[{i}]")
        name = prefix + _require(item, "name", str, f"{path}[{i}]")
        # Nested fields become columns named ``parent.child``: the whole name must fit.
        _fits(name, f"{path}[{i}].name", *FIELD_NAME, what="with its parents' names must be" if prefix else "")
        _fits(_optional(item, "type", str, f"{path}[{i}]"), f"{path}[{i}].type", (Column, "data_type"))
        _optional(item, "description", str, f"{path}[{i}]")
        _check_fields(_optional(item, "fields", list, f"{path}[{i}]", default=[]), f"{path}[{i}].fields", f"{name}.")


def _input_field(item: Any, path: str) -> None:
    _typed(item, dict, path)
    for name in ("namespace", "name", "field"):
        _require(item, name, str, path)
    _fits(item["namespace"], f"{path}.namespace", *DATASET_NAMESPACE)
    _fits(item["name"], f"{path}.name", *DATASET_NAME)
    _fits(item["field"], f"{path}.field", *FIELD_NAME)
    for j, transformation in enumerate(_optional(item, "transformations", list, path, default=[])):
        where = f"{path}.transformations[{j}]"
        _typed(transformation, dict, where)
        _fits(_require(transformation, "type", str, where), f"{where}.type", (Edge, "transformation_type"))
        _fits(_optional(transformation, "subtype", str, where), f"{where}.subtype", (Edge, "transformation_subtype"))
        _optional(transformation, "description", str, where)
        _optional(transformation, "masking", bool, where)


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
            try:
                uuid.UUID(_require(parent_run, "runId", str, "event.run.facets.parent.run"))
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


# --- resolution (per-process caches: assets and jobs are never hard-deleted) --------------------

_assets: dict[tuple[str, str], int] = {}
_jobs: dict[tuple[str, str], int] = {}
# Digest of the facets this process last applied to a job or dataset: an event repeating them
# (the common case: every run of a job sends the same schema and SQL) skips reading the row.
# Facet times then stay at the earlier event, which only matters if an older, different facet
# arrives later -- it would win; acceptable for facets that did not change.
_seen: dict[tuple, str] = {}


def reset_caches() -> None:
    """Forget resolved ids (tests roll the database back between cases)."""
    _assets.clear()
    _jobs.clear()
    _seen.clear()


def source_kind_for(namespace: str) -> str:
    scheme = namespace.split("://", 1)[0].lower() if "://" in namespace else namespace.split(":", 1)[0].lower()
    return SCHEME_KINDS.get(scheme, SourceKind.OTHER)


def _cached(cache: dict, kind: str, key: tuple[str, str]) -> int | None:
    found = cache.get(key)
    if found is None:
        batch = _batch.get()
        found = batch.registered.get((kind, *key)) if batch is not None else None
    return found


def _remember(cache: dict, kind: str, key: tuple[str, str], value: int) -> None:
    # Published when the transaction commits (a rolled-back registration must not stay cached);
    # until then the batch's own overlay answers.
    batch = _batch.get()
    if batch is not None:
        batch.registered[(kind, *key)] = value
    transaction.on_commit(lambda: cache.__setitem__(key, value))


def asset_for(namespace: str, name: str, *, actor: Any, stats: dict) -> int:
    """The catalog asset id for an OpenLineage dataset, registering source and asset if unknown."""
    cached = _cached(_assets, "asset", (namespace, name))
    if cached is not None:
        return cached
    kind = source_kind_for(namespace)
    source = catalog.source_ensure(namespace=namespace, actor=actor, kind=kind)
    asset, created = catalog.asset_ensure(
        source=source, qualified_name=name, actor=actor, kind=ASSET_KINDS.get(kind, AssetKind.TABLE)
    )
    stats["datasets_registered"] += int(created)
    _remember(_assets, "asset", (namespace, name), asset.pk)
    return asset.pk


def job_for(namespace: str, name: str) -> Job:
    job_id = _cached(_jobs, "job", (namespace, name))
    if job_id is not None:
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            return job
    job, _ = Job.objects.get_or_create(namespace=namespace, name=name)
    _remember(_jobs, "job", (namespace, name), job.pk)
    return job


def _merge_facets(holder: Any, facets: dict, at: datetime) -> list[str]:
    """Take each facet from the event unless a newer event already set it; returns changed names."""
    stamp = at.isoformat()
    changed = []
    for name, facet in facets.items():
        if holder.facet_times.get(name, "") > stamp:
            continue
        if facet.get("_deleted") is True:
            if name in holder.facets:
                del holder.facets[name]
                changed.append(name)
        elif holder.facets.get(name) != facet:
            holder.facets[name] = facet
            changed.append(name)
        holder.facet_times[name] = stamp
    return changed


# --- applying an event --------------------------------------------------------------------------


def _flatten_fields(fields: list[dict], prefix: str = "") -> list[dict]:
    out = []
    for item in fields:
        name = f"{prefix}{item['name']}"
        out.append({"name": name, "data_type": item.get("type") or "", "description": item.get("description") or ""})
        out += _flatten_fields(item.get("fields") or [], prefix=f"{name}.")
    return out


def _apply_dataset_facets(asset_id: int, facets: dict, event: Event, *, actor: Any, stats: dict) -> None:
    if not facets:
        return
    seen_key, digest = ("dataset", asset_id), digest_of(facets)
    if _was_seen(seen_key, digest):
        return
    stats["seen"][seen_key] = digest
    holder, _ = DatasetFacets.objects.get_or_create(asset_id=asset_id)
    changed = _merge_facets(holder, facets, event.event_time)
    if not changed:
        return
    holder.save(update_fields=["facets", "facet_times", "updated_at"])
    asset = None
    if "schema" in changed and "schema" in holder.facets:
        asset = DataAsset(pk=asset_id)
        synced = catalog.columns_sync(
            asset=asset, columns=_flatten_fields(holder.facets["schema"].get("fields", [])), actor=actor
        )
        batch = _batch.get()
        if batch is not None and batch.columns is not None:
            batch.columns[asset_id] = synced
    if "ownership" in changed and "ownership" in holder.facets:
        _apply_ownership(asset_id, holder.facets["ownership"].get("owners", []), actor=actor)
    if "tags" in changed and "tags" in holder.facets:
        _apply_tags(asset_id, holder.facets["tags"].get("tags", []), event, actor=actor, stats=stats)


def _owner_usernames(owners: list[dict]) -> set[str]:
    names = set()
    for owner in owners:
        name = owner.get("name", "")
        names.add(name.split(":", 1)[1] if name.startswith("user:") else name)
    return names


def _apply_ownership(asset_id: int, owners: list[dict], *, actor: Any) -> None:
    from accounts.models import User

    users = list(User.objects.filter(username__in=_owner_usernames(owners)))
    asset = DataAsset.objects.get(pk=asset_id)
    if users and set(asset.owners.values_list("pk", flat=True)) != {u.pk for u in users}:
        catalog.asset_set_owners(asset=asset, owners=users, actor=actor)


def _apply_tags(asset_id: int, tags: list[dict], event: Event, *, actor: Any, stats: dict) -> None:
    asset = DataAsset.objects.get(pk=asset_id)
    columns = {c.name: c for c in Column.objects.filter(asset_id=asset_id)}
    asset_tags: set[int] = set()
    column_tags: dict[str, set[int]] = {}
    for item in tags:
        key, value, field_name = item["key"], item.get("value", ""), item.get("field")
        if key.lower() == "pii" and field_name in columns and ENTITY_TYPE.match(value):
            column = columns[field_name]
            if not Classification.objects.filter(column=column, entity_type=value, source=ClassificationSource.IMPORTED).exists():
                catalog.classification_suggest(
                    column=column,
                    entity_type=value,
                    source=ClassificationSource.IMPORTED,
                    actor=actor,
                    evidence={"openlineage": {"producer": event.producer, "tag_source": str(item.get("source", ""))[:100]}},
                )
                stats["classifications_imported"] += 1
            continue
        tag = catalog.tag_ensure(name=_tag_name(item), actor=actor)
        if field_name:
            if field_name in columns:
                column_tags.setdefault(field_name, set()).add(tag.pk)
        else:
            asset_tags.add(tag.pk)
    if asset_tags - set(asset.tags.values_list("pk", flat=True)):
        catalog.asset_update(asset=asset, actor=actor, tags=sorted(asset_tags | set(asset.tags.values_list("pk", flat=True))))
    for name, tag_ids in column_tags.items():
        column = columns[name]
        have = set(column.tags.values_list("pk", flat=True))
        if tag_ids - have:
            catalog.column_update(column=column, actor=actor, tags=sorted(tag_ids | have))


def _tag_name(item: dict) -> str:
    key, value = item["key"], item.get("value", "")
    return key if value in ("", "true") else f"{key}:{value}"


def _was_seen(key: tuple, digest: str) -> bool:
    batch = _batch.get()
    return _seen.get(key) == digest or (batch is not None and batch.seen.get(key) == digest)


def _seen_after_commit(key: tuple, digest: str) -> None:
    # Remember only what committed: a rolled-back event must not make its facets look applied.
    transaction.on_commit(lambda: _seen.__setitem__(key, digest))


def _apply_job(event: Event, *, run_parent: Job | None, stats: dict) -> Job:
    spec = event.job
    facets = spec.get("facets") or {}
    names = (spec["namespace"], spec["name"])
    seen_key = ("job", names)
    digest = digest_of({"facets": facets, "parent": run_parent.pk if run_parent else None})
    known = _cached(_jobs, "job", names)
    if _was_seen(seen_key, digest) and known is not None:
        return Job(pk=known, namespace=names[0], name=names[1])
    stats["seen"][seen_key] = digest
    job = job_for(*names)
    changed = _merge_facets(job, facets, event.event_time)
    if changed:
        if "sql" in changed:
            job.sql = job.facets.get("sql", {}).get("query", "")
        if "jobType" in changed:
            job_type = job.facets.get("jobType", {})
            job.job_type = "/".join(
                str(job_type.get(k, "")) for k in ("processingType", "integration", "jobType") if job_type.get(k)
            )[:32]
        if "ownership" in changed:
            job.owners = job.facets.get("ownership", {}).get("owners", [])
        if "documentation" in changed:
            job.description = job.facets.get("documentation", {}).get("description", "")
    if run_parent is not None and job.parent_id != run_parent.pk and run_parent.pk != job.pk:
        job.parent = run_parent
        changed.append("parent")
    if changed:
        job.full_clean(validate_unique=False, validate_constraints=False)
        job.save()
    return job


def _apply_run(event: Event, job: Job, *, actor: Any) -> Run:
    state = event.event_type or RunState.OTHER
    batch = _batch.get()
    runs = batch.runs if batch is not None else None
    run = runs.get(event.run_id) if runs is not None else Run.objects.filter(run_id=event.run_id).first()
    if run is None:
        run = Run(run_id=event.run_id, job=job, state=state, last_event_time=event.event_time, producer=event.producer)
        run.submitted_by = actor_name(actor)
    elif event.event_time > run.last_event_time or (
        event.event_time == run.last_event_time and state in TERMINAL_STATES and run.state not in TERMINAL_STATES
    ):
        run.state = state
        run.last_event_time = event.event_time
    if state == RunState.START and (run.started_at is None or event.event_time < run.started_at):
        run.started_at = event.event_time
    if state in TERMINAL_STATES and (run.ended_at is None or event.event_time > run.ended_at):
        run.ended_at = event.event_time
    changed = _merge_facets(run, event.run_facets, event.event_time)
    job_facets = event.job.get("facets") or {}
    if job_facets.get("sql", {}).get("query"):
        run.sql = job_facets["sql"]["query"]
    if job_facets.get("sourceCodeLocation", {}).get("url"):
        run.code_location = job_facets["sourceCodeLocation"]["url"]
    if "parent" in changed:
        run.parent_run_id = uuid.UUID(run.facets["parent"]["run"]["runId"])
    if runs is not None:  # the batch writes its runs together (_flush_runs), checked once each
        runs[event.run_id] = run
        batch.touched_runs[event.run_id] = run
        return run
    run.full_clean(exclude=["job"], validate_unique=False, validate_constraints=False)  # job: just resolved
    run.save()
    return run


RUN_MERGED_FIELDS = [
    "state",
    "started_at",
    "ended_at",
    "last_event_time",
    "sql",
    "code_location",
    "parent_run_id",
    "facets",
    "facet_times",
]


def _flush_runs(batch: _Batch) -> None:
    """Write the runs a batch touched: one INSERT of the new ones, one UPDATE of the others
    (only the fields merging changes: job, producer and submitter are a run's first event's)."""
    runs = list(batch.touched_runs.values())
    for run in runs:
        run.full_clean(exclude=["job"], validate_unique=False, validate_constraints=False)
    new = [run for run in runs if run.pk is None]
    old = [run for run in runs if run.pk is not None]
    if new:
        rows_insert(new)
    if old:
        rows_update(old, RUN_MERGED_FIELDS)
    batch.touched_runs.clear()


def _model_output(dataset: dict) -> tuple[str, str, str] | None:
    facet = (dataset.get("facets") or {}).get(MODEL_FACET)
    if isinstance(facet, dict) and isinstance(facet.get("model"), str) and isinstance(facet.get("version"), str):
        return facet["model"], facet["version"], str(facet.get("stage", ""))
    return None


def _link_model_output(model_spec: tuple[str, str, str], input_ids: list[int], *, actor: Any) -> ModelVersion:
    model_name, version, stage = model_spec
    model = MLModel.objects.filter(name=model_name).first() or catalog.model_create(actor=actor, name=model_name)
    extra = {"stage": stage} if stage else {}
    model_version = ModelVersion.objects.filter(model=model, version=version).first()
    if model_version is None:
        model_version = catalog.model_version_register(
            actor=actor, model=model, version=version, training_datasets=input_ids, **extra
        )
    else:
        have = set(model_version.training_datasets.values_list("pk", flat=True))
        if set(input_ids) - have:
            catalog.model_version_update(
                model_version=model_version, actor=actor, training_datasets=sorted(have | set(input_ids))
            )
    return model_version


def _column_specs(
    output_asset_id: int, facet: dict, *, schema_names: list[str], actor: Any, stats: dict
) -> tuple[list[EdgeSpec], set[int]]:
    """Column derivation edges of one output dataset, and the ids of all its columns.

    ``fields`` gives each output column its inputs. ``dataset`` lists inputs that affect the
    whole output (filter, join, group by, sort, window): each becomes an edge to every output
    column the event names (``fields`` keys and ``schema_names``, the output's schema facet). An
    input column the ``fields`` section already links to an output column keeps that edge (the
    field-level statement is the more precise one); one listed twice in ``dataset`` gets one edge
    carrying both entries' transformations. Without transformations, a dataset-wide input counts
    as ``INDIRECT`` (what the spec says such inputs are).
    """
    fields = facet.get("fields", {})
    out_names = list(fields)
    wide: dict[tuple[str, str, str], dict] = {}  # dataset-wide inputs, merged per input column
    for item in facet.get("dataset") or []:
        ref = (item["namespace"], item["name"], item["field"])
        transformations = item.get("transformations") or []
        if ref in wide:
            wide[ref]["transformations"] = wide[ref]["transformations"] + transformations
        else:
            wide[ref] = item | {"transformations": transformations}
    if wide:
        out_names += [n for n in dict.fromkeys(schema_names) if n not in fields]
    inputs: dict[int, set[str]] = {}
    per_output: list[tuple[str, int, dict]] = []
    for out_name, spec in fields.items():
        for item in spec.get("inputFields", []):
            asset_id = asset_for(item["namespace"], item["name"], actor=actor, stats=stats)
            inputs.setdefault(asset_id, set()).add(item["field"])
            per_output.append((out_name, asset_id, item | {"_legacy": spec}))
    for item in wide.values():
        asset_id = asset_for(item["namespace"], item["name"], actor=actor, stats=stats)
        inputs.setdefault(asset_id, set()).add(item["field"])
        legacy = {} if item["transformations"] else {"transformationType": INDIRECT}
        per_output += [(out_name, asset_id, item | {"_legacy": legacy, "_wide": True}) for out_name in out_names]
    # One read for the columns of the output and every input (none when the batch has them);
    # register only what is missing.
    batch = _batch.get()
    known: dict[int, dict[str, Column]] = batch.columns if batch is not None and batch.columns is not None else {}
    _load_columns(known, [a for a in [output_asset_id, *inputs] if a not in known])
    out_cols = known.get(output_asset_id, {})
    if set(out_names) - out_cols.keys():
        out_cols = known[output_asset_id] = catalog.columns_sync(
            asset=DataAsset(pk=output_asset_id), columns=[{"name": n} for n in out_names], actor=actor
        )
    in_cols = {}
    for asset_id, names in inputs.items():
        have = known.get(asset_id, {})
        if names - have.keys():
            have = known[asset_id] = catalog.columns_sync(
                asset=DataAsset(pk=asset_id), columns=[{"name": n} for n in sorted(names)], actor=actor
            )
        in_cols[asset_id] = have
    specs: list[EdgeSpec] = []
    field_keys: set[tuple] = set()
    for out_name, asset_id, item in per_output:
        transformations = item.get("transformations") or []
        legacy = item["_legacy"]
        first = transformations[0] if transformations else {}
        masking = any(t.get("masking") is True for t in transformations) or legacy.get("transformationType") == "MASKED"
        spec = EdgeSpec(
            kind=EdgeKind.DERIVES,
            src_type=NodeType.COLUMN,
            src_id=in_cols[asset_id][item["field"]].pk,
            dst_type=NodeType.COLUMN,
            dst_id=out_cols[out_name].pk,
            transformation_type=str(first.get("type") or legacy.get("transformationType") or ""),
            transformation_subtype=str(first.get("subtype") or ""),
            description=str(first.get("description") or legacy.get("transformationDescription") or ""),
            masking=masking,
            details={"transformations": transformations} if len(transformations) > 1 else {},
        )
        if item.get("_wide"):
            if spec.key in field_keys:
                continue
        else:
            field_keys.add(spec.key)
        specs.append(spec)
    return specs, {c.pk for c in out_cols.values()}


def _load_columns(known: dict[int, dict[str, Column]], asset_ids: list[int]) -> None:
    """Add the columns of ``asset_ids`` to ``known`` (asset id -> name -> column), one query."""
    if not asset_ids:
        return
    for asset_id in asset_ids:
        known.setdefault(asset_id, {})
    for column in Column.objects.filter(asset_id__in=asset_ids).only("pk", "asset_id", "name"):
        known[column.asset_id][column.name] = column


def _close_stale(job: Job, keep: dict[str, set[tuple]], event: Event, version: int, *, dst_columns: set[int]) -> list[Edge]:
    """Close the job's current edges of the kinds in ``keep`` that this (newer) event no longer lists."""
    if not keep:
        return []
    index = _edge_index()
    if index is not None:
        candidates: Any = index.current_of_job(job.pk)
    else:
        candidates = Edge.objects.filter(job=job, kind__in=list(keep), valid_to__isnull=True, last_seen_at__lt=event.event_time)
    stale = [
        e
        for e in candidates
        if e.kind in keep
        and e.valid_to is None
        and e.last_seen_at < event.event_time
        and (e.kind, e.src_type, e.src_id, e.dst_type, e.dst_id) not in keep[e.kind]
        and (e.kind != EdgeKind.DERIVES or e.dst_id in dst_columns)
    ]
    return edges_close(edges=stale, at=event.event_time, version=version, index=index)


def _edge_index() -> EdgeIndex | None:
    batch = _batch.get()
    return batch.edges if batch is not None else None


def _apply(event: Event, *, actor: Any, stats: dict, version: int) -> EdgeChanges:
    changes = EdgeChanges()
    if event.kind == EventKind.DATASET:
        ds = event.dataset
        asset_id = asset_for(ds["namespace"], ds["name"], actor=actor, stats=stats)
        _apply_dataset_facets(asset_id, ds.get("facets") or {}, event, actor=actor, stats=stats)
        return changes
    parent_job = None
    parent = event.run_facets.get("parent")
    if parent and not parent.get("_deleted"):
        parent_job = job_for(parent["job"]["namespace"], parent["job"]["name"])
    job = _apply_job(event, run_parent=parent_job, stats=stats)
    stats["job_id"] = job.pk
    run = _apply_run(event, job, actor=actor) if event.kind == EventKind.RUN else None
    input_ids = []
    for ds in event.inputs:
        asset_id = asset_for(ds["namespace"], ds["name"], actor=actor, stats=stats)
        _apply_dataset_facets(asset_id, ds.get("facets") or {}, event, actor=actor, stats=stats)
        input_ids.append(asset_id)
    specs = [EdgeSpec(EdgeKind.CONSUMES, NodeType.ASSET, a, NodeType.JOB, job.pk) for a in input_ids]
    output_specs: list[EdgeSpec] = []
    column_specs: list[EdgeSpec] = []
    lineage_outputs: set[int] = set()  # ids of every column of outputs that carry column lineage
    models = []
    for ds in event.outputs:
        model_spec = _model_output(ds)
        if model_spec is not None:
            models.append(model_spec)
            continue
        asset_id = asset_for(ds["namespace"], ds["name"], actor=actor, stats=stats)
        facets = ds.get("facets") or {}
        _apply_dataset_facets(asset_id, facets, event, actor=actor, stats=stats)
        output_specs.append(EdgeSpec(EdgeKind.PRODUCES, NodeType.JOB, job.pk, NodeType.ASSET, asset_id))
        lineage = facets.get("columnLineage")
        if lineage and not lineage.get("_deleted"):
            schema = facets.get("schema")
            schema_names = (
                [f["name"] for f in _flatten_fields(schema.get("fields") or [])] if schema and not schema.get("_deleted") else []
            )
            more, out_column_ids = _column_specs(asset_id, lineage, schema_names=schema_names, actor=actor, stats=stats)
            column_specs += more
            lineage_outputs |= out_column_ids
    common = {
        "at": event.event_time,
        "version": version,
        "actor": actor,
        "job": job,
        "run": run,
        "producer": event.producer,
        "index": _edge_index(),
    }
    changes += edges_assert(specs=specs + output_specs + column_specs, **common)
    for model_spec in models:
        model_version = _link_model_output(model_spec, input_ids, actor=actor)
        changes += edges_assert(
            specs=[EdgeSpec(EdgeKind.TRAINED_ON, NodeType.ASSET, a, NodeType.MODEL_VERSION, model_version.pk) for a in input_ids],
            **common,
        )
        stats["model_versions"].append(model_version.pk)
    # A completed run states the job's whole input or output set: what it no longer lists ends
    # (only edges last seen before this event, so a late older event never ends newer ones).
    if event.event_type == RunState.COMPLETE or event.kind == EventKind.JOB:
        keep: dict[str, set[tuple]] = {}
        if specs:
            keep[EdgeKind.CONSUMES] = {s.key for s in specs}
        if output_specs:
            keep[EdgeKind.PRODUCES] = {s.key for s in output_specs}
        dst_columns: set[int] = set()
        if lineage_outputs:
            keep[EdgeKind.DERIVES] = {s.key for s in column_specs}
            dst_columns = lineage_outputs
        changes.closed += _close_stale(job, keep, event, version, dst_columns=dst_columns)
    return changes


@dataclass
class _Batch:
    """State shared by the events of one batch (one transaction): one graph version, one audit
    event, the facets already applied and the datasets and jobs registered in it. The fast path
    (all events in one savepoint) also reads runs, columns and edges through caches filled with
    a few queries for the whole batch (``None`` on the event-by-event path)."""

    version: int | None = None
    seen: dict[tuple, str] = field(default_factory=dict)
    audited: list[dict[str, Any]] = field(default_factory=list)
    registered: dict[tuple, int] = field(default_factory=dict)
    runs: dict[uuid.UUID, Run] | None = None
    touched_runs: dict[uuid.UUID, Run] = field(default_factory=dict)
    columns: dict[int, dict[str, Column]] | None = None
    edges: EdgeIndex | None = None


_batch: ContextVar[_Batch | None] = ContextVar("lineage_ingest_batch", default=None)


def _new_stats() -> dict[str, Any]:
    return {"datasets_registered": 0, "classifications_imported": 0, "model_versions": [], "seen": {}}


def _raw_event(event: Event, payload: dict, digest: str, actor: Any) -> LineageEvent:
    return LineageEvent(
        kind=event.kind,
        event_type=event.event_type,
        event_time=event.event_time,
        run_id=event.run_id,
        job_namespace=(event.job or {}).get("namespace", ""),
        job_name=(event.job or {}).get("name", ""),
        producer=event.producer,
        digest=digest,
        payload=payload,
        submitted_by=actor if getattr(actor, "pk", None) else None,
    )


def _summary(raw: LineageEvent, event: Event, stats: dict, changes: EdgeChanges) -> dict[str, Any]:
    return {
        "event_id": raw.pk,
        "kind": event.kind,
        "event_type": event.event_type,
        "run_id": str(event.run_id) if event.run_id else None,
        "job_id": stats.get("job_id"),
        "inputs": len(event.inputs),
        "outputs": len(event.outputs),
        "edges_created": len(changes.created),
        "edges_closed": len(changes.closed),
        "datasets_registered": stats["datasets_registered"],
        "model_version_ids": stats["model_versions"],
    }


def _applied(raw: LineageEvent, stats: dict, changes: EdgeChanges) -> dict[str, Any]:
    return {
        "status": "applied",
        "event_id": raw.pk,
        "edges_created": len(changes.created),
        "edges_closed": len(changes.closed),
        "datasets_registered": stats["datasets_registered"],
    }


def _ingest(event: Event, payload: dict, digest: str, *, actor: Any, batch: _Batch | None) -> dict[str, Any]:
    stats = _new_stats()
    try:
        with transaction.atomic():
            # The unique digest makes a repeated payload fail here, first, and roll back alone.
            raw = _raw_event(event, payload, digest, actor)
            raw.save(force_insert=True)
            if batch is None:
                version = graph_version_bump()
            else:
                if batch.version is None:
                    batch.version = graph_version_bump()
                version = batch.version
            changes = _apply(event, actor=actor, stats=stats, version=version)
            summary = _summary(raw, event, stats, changes)
            if batch is None:
                record(actor=actor, action="lineage.openlineage.ingest", target=raw, details=summary)
            _after_commit_propagate_live(changes)
    except (ValidationError, DataError) as exc:
        # Validation should have caught it; whatever slipped through is still the event's fault
        # (a 400, and in a batch only this event is lost). Field names only, never values.
        if batch is not None:
            batch.registered.clear()
        logger.warning("lineage event rejected by the database or a model check: %s", type(exc).__name__)
        fields = sorted(getattr(exc, "message_dict", {})) if isinstance(exc, ValidationError) else []
        raise EventInvalid(f"event: a value does not fit the catalog{' (' + ', '.join(fields) + ')' if fields else ''}") from None
    except IntegrityError:
        if batch is not None:
            batch.registered.clear()  # may name rows the savepoint just rolled back
        existing = LineageEvent.objects.filter(digest=digest).values_list("pk", flat=True).first()
        if existing is None:
            raise
        return {"status": "duplicate", "event_id": existing}
    if batch is not None:
        batch.audited.append(summary)
        batch.seen.update(stats["seen"])
    for key, value in stats["seen"].items():
        _seen_after_commit(key, value)
    return _applied(raw, stats, changes)


def event_ingest(*, payload: Any, actor: Any) -> dict[str, Any]:
    """Validate and merge one OpenLineage event; keep the raw payload; audit once per event.

    Returns ``{"status": "applied"|"duplicate", "event_id", "edges_created", "edges_closed", ...}``;
    raises :class:`EventInvalid` (nothing written) for an event that breaks the spec.
    Audited as ``lineage.openlineage.ingest`` with counts and ids only.
    """
    event = validate_event(payload)
    return _ingest(event, payload, digest_of(payload), actor=actor, batch=None)


Item = tuple[int, Event, dict, str]  # (index in the request, event, payload, digest)


def event_ingest_batch(*, payloads: list[Any], actor: Any) -> list[dict[str, Any]]:
    """Validate and merge a list of events in one transaction (an invalid or failing event is
    reported and loses no other). One audit event ``lineage.openlineage.ingest_batch`` lists every
    applied event's ids and counts.

    The valid events are first applied together in one savepoint, reading runs, columns and edges
    through caches filled with a few queries and writing the raw events with one INSERT. If that
    fails for any reason (e.g. a payload another request stored meanwhile), the savepoint rolls
    back and the events are applied one by one, each in its own savepoint, as before: the outcome
    is the same either way.

    Returns one result per payload, in order: ``{"index", "status": "applied"|"duplicate", ...}``
    or ``{"index", "status": "invalid", "error"}``.
    """
    results: dict[int, dict[str, Any]] = {}
    items: list[Item] = []
    for index, payload in enumerate(payloads):
        try:
            event = validate_event(payload)
        except EventInvalid as exc:
            results[index] = {"index": index, "status": "invalid", "error": str(exc)}
            continue
        items.append((index, event, payload, digest_of(payload)))
    with transaction.atomic():
        batch = _Batch()
        token = _batch.set(batch)
        try:
            outcome = None
            if items:
                try:
                    with transaction.atomic():
                        outcome = _ingest_together(items, actor=actor, batch=batch)
                except Exception as exc:  # noqa: BLE001 - rolled back; the event-by-event path decides
                    logger.warning("lineage batch of %d events: applying one by one (%s)", len(items), type(exc).__name__)
                    batch = _Batch()
                    _batch.set(batch)
            if outcome is None:
                outcome = []
                for _, event, payload, digest in items:
                    try:
                        outcome.append(_ingest(event, payload, digest, actor=actor, batch=batch))
                    except EventInvalid as exc:
                        outcome.append({"status": "invalid", "error": str(exc)})
            for (index, *_), result in zip(items, outcome, strict=True):
                results[index] = {"index": index, **result}
            if batch.audited:
                record(
                    actor=actor,
                    action="lineage.openlineage.ingest_batch",
                    target_type="lineage.lineageevent",
                    target_id=batch.audited[0]["event_id"],
                    details={
                        "events": batch.audited,
                        "received": len(payloads),
                        "invalid": sum(1 for r in results.values() if r["status"] == "invalid"),
                    },
                )
        finally:
            _batch.reset(token)
    return [results[index] for index in range(len(payloads))]


def _ingest_together(items: list[Item], *, actor: Any, batch: _Batch) -> list[dict[str, Any]]:
    """Apply ``items`` in order inside the caller's savepoint, with batch-wide reads and one
    INSERT of the raw events. Same results as :func:`_ingest` for each, in turn."""
    digests = {digest for *_, digest in items}
    stored = dict(LineageEvent.objects.filter(digest__in=digests).values_list("digest", "pk"))
    fresh: dict[str, Item] = {}
    for item in items:
        if item[3] not in stored and item[3] not in fresh:
            fresh[item[3]] = item
    if not fresh:
        return [{"status": "duplicate", "event_id": stored[digest]} for *_, digest in items]
    raws = [_raw_event(event, payload, digest, actor) for _, event, payload, digest in fresh.values()]
    rows_insert(raws)
    raw_of = {raw.digest: raw for raw in raws}
    batch.version = graph_version_bump()
    _prefetch(list(fresh.values()), batch)
    results: list[dict[str, Any]] = []
    changed = EdgeChanges()
    done: set[str] = set()
    for _, event, _, digest in items:
        if digest in stored or digest in done:  # stored before, or earlier in this batch
            results.append({"status": "duplicate", "event_id": stored.get(digest) or raw_of[digest].pk})
            continue
        done.add(digest)
        raw = raw_of[digest]
        stats = _new_stats()
        changes = _apply(event, actor=actor, stats=stats, version=batch.version)
        batch.audited.append(_summary(raw, event, stats, changes))
        batch.seen.update(stats["seen"])
        changed += changes
        results.append(_applied(raw, stats, changes))
    # The runs first: new edges point to them.
    _flush_runs(batch)
    batch.edges.flush()
    for key, value in batch.seen.items():
        _seen_after_commit(key, value)
    _after_commit_propagate_live(changed)
    return results


def _prefetch(items: list[Item], batch: _Batch) -> None:
    """Fill the batch's caches with what its events will read: their runs, the columns of the
    datasets this process knows, and those datasets', jobs' and columns' edges."""
    run_ids = {event.run_id for _, event, *_ in items if event.run_id is not None}
    batch.runs = {run.run_id: run for run in Run.objects.filter(run_id__in=run_ids)} if run_ids else {}
    datasets: set[tuple[str, str]] = set()
    column_refs: set[tuple[str, str, str]] = set()
    jobs: set[int] = set()
    for _, event, *_ in items:
        for ds in [*event.inputs, *event.outputs, *([event.dataset] if event.dataset else [])]:
            datasets.add((ds["namespace"], ds["name"]))
            lineage = (ds.get("facets") or {}).get("columnLineage") or {}
            if lineage.get("_deleted"):
                continue
            wide = lineage.get("dataset") or []
            for item in [i for spec in (lineage.get("fields") or {}).values() for i in spec.get("inputFields", [])] + wide:
                datasets.add((item["namespace"], item["name"]))
                column_refs.add((item["namespace"], item["name"], item["field"]))
        for job in [event.job, ((event.run_facets.get("parent") or {}).get("job"))]:
            if job and _jobs.get((job.get("namespace"), job.get("name"))) is not None:
                jobs.add(_jobs[(job["namespace"], job["name"])])
    assets = {key: _assets[key] for key in datasets if key in _assets}
    batch.columns = {}
    _load_columns(batch.columns, sorted(set(assets.values())))
    srcs = {(NodeType.ASSET, a) for a in assets.values()} | {(NodeType.JOB, j) for j in jobs}
    for namespace, name, field_name in column_refs:
        column = batch.columns.get(assets.get((namespace, name), -1), {}).get(field_name)
        if column is not None:
            srcs.add((NodeType.COLUMN, column.pk))
    batch.edges = EdgeIndex(since=min(event.event_time for _, event, *_ in items))
    batch.edges.load(srcs=srcs, jobs=jobs)


def _after_commit_propagate_live(changes: EdgeChanges) -> None:
    """Propagation only matters from columns that carry a live classification (keeps intake fast)."""
    columns = {e.src_id for e in [*changes.created, *changes.closed] if e.src_type == NodeType.COLUMN}
    if columns and Classification.objects.filter(column_id__in=columns, state__in=("suggested", "confirmed")).exists():
        _after_commit_propagate(changes)
