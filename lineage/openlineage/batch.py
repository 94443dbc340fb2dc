"""The intake services: one event (:func:`event_ingest`) or a list (:func:`event_ingest_batch`).

Each validates, checks the actor may add lineage (``accounts.permissions.require``), stores the
raw payload (a repeated payload is a no-op, by its unique digest), applies it
(:mod:`lineage.openlineage.apply`) and writes its audit event in the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from accounts.permissions import ADD, require
from audit.services import record
from catalog.models import Classification
from core.bulk import rows_insert, rows_update
from core.types import Actor
from lineage.choices import NodeType
from lineage.models import DatasetFacets, Job, LineageEvent, Run
from lineage.openlineage.apply import RUN_MERGED_FIELDS, apply_event
from lineage.openlineage.columns import column_lineage_of, load_columns
from lineage.openlineage.context import BatchState, EventStats, Intake, IntakeCaches, process_caches
from lineage.openlineage.resolve import known_assets
from lineage.openlineage.validation import Event, EventInvalid, digest_of, validate_event
from lineage.services import EdgeChanges, EdgeIndex, _after_commit_propagate, graph_version_bump

logger = logging.getLogger("lineage.openlineage")

Item = tuple[int, Event, dict, str]  # (index in the request, event, payload, digest)


def _raw_event(event: Event, payload: dict, digest: str, actor: Actor) -> LineageEvent:
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


def _summary(raw: LineageEvent, event: Event, stats: EventStats, changes: EdgeChanges) -> dict[str, Any]:
    return {
        "event_id": raw.pk,
        "kind": event.kind,
        "event_type": event.event_type,
        "run_id": str(event.run_id) if event.run_id else None,
        "job_id": stats.job_id,
        "inputs": len(event.inputs),
        "outputs": len(event.outputs),
        "edges_created": len(changes.created),
        "edges_closed": len(changes.closed),
        "datasets_registered": stats.datasets_registered,
        "aliases_created": stats.aliases_created,
        "alias_conflicts": stats.alias_conflicts,
        "descriptions_set": stats.descriptions,
        "descriptions_suggested": stats.description_suggestions,
        "model_version_ids": stats.model_versions,
    }


def _applied(raw: LineageEvent, stats: EventStats, changes: EdgeChanges) -> dict[str, Any]:
    return {
        "status": "applied",
        "event_id": raw.pk,
        "edges_created": len(changes.created),
        "edges_closed": len(changes.closed),
        "datasets_registered": stats.datasets_registered,
    }


def _ingest(intake: Intake, event: Event, payload: dict, digest: str) -> dict[str, Any]:
    """Apply one event in its own savepoint (a single event, or the batch's one-by-one path)."""
    actor, batch = intake.actor, intake.batch
    stats = EventStats()
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
            changes = apply_event(intake, event, stats=stats, version=version)
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
        batch.seen.update(stats.seen)
    for key, value in stats.seen.items():
        intake.seen_after_commit(key, value)
    return _applied(raw, stats, changes)


def event_ingest(*, payload: Any, actor: Actor, caches: IntakeCaches | None = None) -> dict[str, Any]:
    """Validate and merge one OpenLineage event; keep the raw payload; audit once per event.

    Returns ``{"status": "applied"|"duplicate", "event_id", "edges_created", "edges_closed", ...}``;
    raises :class:`EventInvalid` (nothing written) for an event that breaks the spec and
    ``PermissionDenied`` for an actor without ``add``. ``caches``: this process's by default.
    Audited as ``lineage.openlineage.ingest`` with counts and ids only.
    """
    require(actor, ADD, "lineage events")
    event = validate_event(payload)
    intake = Intake(caches=caches or process_caches(), actor=actor)
    return _ingest(intake, event, payload, digest_of(payload))


def event_ingest_batch(*, payloads: list[Any], actor: Actor, caches: IntakeCaches | None = None) -> list[dict[str, Any]]:
    """Validate and merge a list of events in one transaction (an invalid or failing event is
    reported and loses no other). One audit event ``lineage.openlineage.ingest_batch`` lists every
    applied event's ids and counts. ``PermissionDenied`` for an actor without ``add``.

    The valid events are first applied together in one savepoint, reading runs, columns and edges
    through caches filled with a few queries and writing the raw events with one INSERT. If that
    fails for any reason (e.g. a payload another request stored meanwhile), the savepoint rolls
    back and the events are applied one by one, each in its own savepoint, as before: the outcome
    is the same either way.

    Returns one result per payload, in order: ``{"index", "status": "applied"|"duplicate", ...}``
    or ``{"index", "status": "invalid", "error"}``.
    """
    require(actor, ADD, "lineage events")
    caches = caches or process_caches()
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
        intake = Intake(caches=caches, actor=actor, batch=BatchState())
        outcome = None
        if items:
            try:
                with transaction.atomic():
                    outcome = _ingest_together(intake, items)
            except Exception as exc:  # noqa: BLE001 - rolled back; the event-by-event path decides
                logger.warning("lineage batch of %d events: applying one by one (%s)", len(items), type(exc).__name__)
                intake = Intake(caches=caches, actor=actor, batch=BatchState())
        if outcome is None:
            outcome = []
            for _, event, payload, digest in items:
                try:
                    outcome.append(_ingest(intake, event, payload, digest))
                except EventInvalid as exc:
                    outcome.append({"status": "invalid", "error": str(exc)})
        for (index, *_), result in zip(items, outcome, strict=True):
            results[index] = {"index": index, **result}
        audited = intake.batch.audited
        if audited:
            record(
                actor=actor,
                action="lineage.openlineage.ingest_batch",
                target_type="lineage.lineageevent",
                target_id=audited[0]["event_id"],
                details={
                    "events": audited,
                    "received": len(payloads),
                    "invalid": sum(1 for r in results.values() if r["status"] == "invalid"),
                },
            )
    return [results[index] for index in range(len(payloads))]


def _ingest_together(intake: Intake, items: list[Item]) -> list[dict[str, Any]]:
    """Apply ``items`` in order inside the caller's savepoint, with batch-wide reads and one
    INSERT of the raw events. Same results as :func:`_ingest` for each, in turn."""
    batch = intake.batch
    digests = {digest for *_, digest in items}
    stored = dict(LineageEvent.objects.filter(digest__in=digests).values_list("digest", "pk"))
    fresh: dict[str, Item] = {}
    for item in items:
        if item[3] not in stored and item[3] not in fresh:
            fresh[item[3]] = item
    if not fresh:
        return [{"status": "duplicate", "event_id": stored[digest]} for *_, digest in items]
    raws = [_raw_event(event, payload, digest, intake.actor) for _, event, payload, digest in fresh.values()]
    rows_insert(raws)
    raw_of = {raw.digest: raw for raw in raws}
    batch.version = graph_version_bump()
    _prefetch(intake, list(fresh.values()))
    results: list[dict[str, Any]] = []
    changed = EdgeChanges()
    done: set[str] = set()
    for _, event, _, digest in items:
        if digest in stored or digest in done:  # stored before, or earlier in this batch
            results.append({"status": "duplicate", "event_id": stored.get(digest) or raw_of[digest].pk})
            continue
        done.add(digest)
        raw = raw_of[digest]
        stats = EventStats()
        changes = apply_event(intake, event, stats=stats, version=batch.version)
        batch.audited.append(_summary(raw, event, stats, changes))
        batch.seen.update(stats.seen)
        changed += changes
        results.append(_applied(raw, stats, changes))
    # The runs first: new edges point to them.
    flush_runs(batch)
    flush_held(batch)
    batch.edges.flush()
    for key, value in batch.seen.items():
        intake.seen_after_commit(key, value)
    _after_commit_propagate_live(changed)
    return results


def _prefetch(intake: Intake, items: list[Item]) -> None:
    """Fill the batch's caches with what its events will read: their runs, the columns of the
    datasets this process knows, and those datasets', jobs' and columns' edges."""
    batch = intake.batch
    run_ids = {event.run_id for _, event, *_ in items if event.run_id is not None}
    batch.runs = {run.run_id: run for run in Run.objects.filter(run_id__in=run_ids)} if run_ids else {}
    datasets: set[tuple[str, str]] = set()
    column_refs: set[tuple[str, str, str]] = set()
    job_keys: set[tuple[str, str]] = set()
    for _, event, *_ in items:
        for ds in [*event.inputs, *event.outputs, *([event.dataset] if event.dataset else [])]:
            datasets.add((ds["namespace"], ds["name"]))
            lineage = column_lineage_of(ds.get("facets") or {}) or {}
            wide = lineage.get("dataset") or []
            for item in [i for spec in (lineage.get("fields") or {}).values() for i in spec.get("inputFields", [])] + wide:
                datasets.add((item["namespace"], item["name"]))
                column_refs.add((item["namespace"], item["name"], item["field"]))
        for job in [event.job, ((event.run_facets.get("parent") or {}).get("job"))]:
            if job and isinstance(job.get("namespace"), str) and isinstance(job.get("name"), str):
                job_keys.add((job["namespace"], job["name"]))
    # What this process has not resolved yet (a new worker process, or names it has not seen) is
    # resolved here for the whole batch -- one query for the jobs, two for the datasets -- instead
    # of a few queries per job and dataset as the events meet them.
    for key, asset_id in known_assets([key for key in datasets if intake.cached("asset", key) is None]).items():
        intake.remember("asset", key, asset_id)
    batch.jobs = {}
    if job_keys:
        for job in Job.objects.filter(
            namespace__in=sorted({ns for ns, _ in job_keys}), name__in=sorted({n for _, n in job_keys})
        ):
            if (job.namespace, job.name) in job_keys:
                batch.jobs[(job.namespace, job.name)] = job
                if intake.cached("job", (job.namespace, job.name)) is None:
                    intake.remember("job", (job.namespace, job.name), job.pk)
    jobs = {job.pk for job in batch.jobs.values()}
    assets = {key: intake.cached("asset", key) for key in datasets if intake.cached("asset", key) is not None}
    # The facet rows of datasets whose facets in this batch this process has not applied yet (one
    # query). Each facets object's digest is kept for apply_dataset_facets (computed once).
    unseen = set()
    for _, event, *_ in items:
        for ds in [*event.inputs, *event.outputs, *([event.dataset] if event.dataset else [])]:
            facets, asset_id = ds.get("facets"), assets.get((ds["namespace"], ds["name"]))
            if facets and asset_id is not None:
                digest = batch.facet_digests.setdefault(id(facets), digest_of(facets))
                if intake.caches.seen.get(("dataset", asset_id)) != digest:
                    unseen.add(asset_id)
    unseen = sorted(unseen)
    batch.dataset_facets = {row.asset_id: row for row in DatasetFacets.objects.filter(asset_id__in=unseen)} if unseen else {}
    batch.columns = {}
    load_columns(batch.columns, sorted(set(assets.values())))
    srcs = {(NodeType.ASSET, a) for a in assets.values()} | {(NodeType.JOB, j) for j in jobs}
    for namespace, name, field_name in column_refs:
        column = batch.columns.get(assets.get((namespace, name), -1), {}).get(field_name)
        if column is not None:
            srcs.add((NodeType.COLUMN, column.pk))
    batch.edges = EdgeIndex(since=min(event.event_time for _, event, *_ in items))
    batch.edges.load(srcs=srcs, jobs=jobs)


def flush_runs(batch: BatchState) -> None:
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


# The fields of a job and of a dataset's facet row that applying an event changes.
JOB_MERGED_FIELDS = ["description", "job_type", "sql", "owners", "parent", "facets", "facet_times", "updated_at"]
FACET_MERGED_FIELDS = ["facets", "facet_times", "updated_at"]


def flush_held(batch: BatchState) -> None:
    """Write the jobs and dataset facet rows the batch's events changed: one UPDATE each (they
    changed in memory, read once by the prefetch; a row changed by several events is written once)."""
    rows_update(list(batch.changed_jobs.values()), JOB_MERGED_FIELDS)
    rows_update(list(batch.changed_facets.values()), FACET_MERGED_FIELDS)
    batch.changed_jobs.clear()
    batch.changed_facets.clear()


def _after_commit_propagate_live(changes: EdgeChanges) -> None:
    """Propagation only matters from columns that carry a live classification (keeps intake fast)."""
    columns = {e.src_id for e in [*changes.created, *changes.closed] if e.src_type == NodeType.COLUMN}
    if columns and Classification.objects.filter(column_id__in=columns, state__in=("suggested", "confirmed")).exists():
        _after_commit_propagate(changes)
