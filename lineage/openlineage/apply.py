"""Applying one validated event to the catalog and the provenance graph.

What an event does (see docs/lineage.md): unknown datasets and columns are registered in the
catalog; dataset facets are applied (:mod:`lineage.openlineage.facets`); ``columnLineage`` adds
column derivations (:mod:`lineage.openlineage.columns`); ``sql`` and ``sourceCodeLocation``
become the run's code; ``parent`` links runs and jobs; ``custosModel`` outputs become model
versions. Facets keep the newest event's value, run state follows the newest event, and an
older event never closes what a newer one asserted. No audit event here: the calling service
(:mod:`lineage.openlineage.batch`) records one per event or batch.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from catalog import services as catalog
from catalog.models import MLModel, ModelVersion
from lineage.choices import TERMINAL_STATES, EdgeKind, EventKind, NodeType, RunState
from lineage.models import Edge, Job, Run
from lineage.openlineage.columns import column_lineage_of, column_specs, lineage_dataset_inputs
from lineage.openlineage.context import EventStats, Intake
from lineage.openlineage.facets import apply_dataset_facets, flatten_fields, merge_facets
from lineage.openlineage.resolve import asset_for, job_for
from lineage.openlineage.validation import MODEL_FACET, Event, digest_of
from lineage.services import EdgeChanges, EdgeSpec, actor_name, edges_assert, edges_close

# The run fields merging can change (job, producer and submitter are a run's first event's).
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


def apply_job(intake: Intake, event: Event, *, run_parent: Job | None, stats: EventStats) -> Job:
    """Merge the event's job facets (and parent) into its :class:`Job`."""
    spec = event.job
    facets = spec.get("facets") or {}
    names = (spec["namespace"], spec["name"])
    seen_key = ("job", names)
    digest = digest_of({"facets": facets, "parent": run_parent.pk if run_parent else None})
    known = intake.cached("job", names)
    if intake.was_seen(seen_key, digest) and known is not None:
        return Job(pk=known, namespace=names[0], name=names[1])
    stats.seen[seen_key] = digest
    job = job_for(intake, *names)
    changed = merge_facets(job, facets, event.event_time)
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
        held = intake.batch.jobs if intake.batch is not None else None
        if held is not None and held.get(names) is job:  # a batch's fast path: written with the batch
            job.updated_at = timezone.now()
            intake.batch.changed_jobs[job.pk] = job
        else:
            job.save()
    return job


def apply_run(intake: Intake, event: Event, job: Job) -> Run:
    """Merge the event into its :class:`Run` (in a batch, held until the batch writes its runs)."""
    state = event.event_type or RunState.OTHER
    runs = intake.batch_runs
    run = runs.get(event.run_id) if runs is not None else Run.objects.filter(run_id=event.run_id).first()
    if run is None:
        run = Run(run_id=event.run_id, job=job, state=state, last_event_time=event.event_time, producer=event.producer)
        run.submitted_by = actor_name(intake.actor)
    elif event.event_time > run.last_event_time or (
        event.event_time == run.last_event_time and state in TERMINAL_STATES and run.state not in TERMINAL_STATES
    ):
        run.state = state
        run.last_event_time = event.event_time
    if state == RunState.START and (run.started_at is None or event.event_time < run.started_at):
        run.started_at = event.event_time
    if state in TERMINAL_STATES and (run.ended_at is None or event.event_time > run.ended_at):
        run.ended_at = event.event_time
    changed = merge_facets(run, event.run_facets, event.event_time)
    job_facets = event.job.get("facets") or {}
    if job_facets.get("sql", {}).get("query"):
        run.sql = job_facets["sql"]["query"]
    if job_facets.get("sourceCodeLocation", {}).get("url"):
        run.code_location = job_facets["sourceCodeLocation"]["url"]
    if "parent" in changed:
        run.parent_run_id = uuid.UUID(run.facets["parent"]["run"]["runId"])
    if runs is not None:  # the batch writes its runs together (batch.flush_runs), checked once each
        runs[event.run_id] = run
        intake.batch.touched_runs[event.run_id] = run
        return run
    run.full_clean(exclude=["job"], validate_unique=False, validate_constraints=False)  # job: just resolved
    run.save()
    return run


def _model_output(dataset: dict) -> tuple[str, str, str] | None:
    facet = (dataset.get("facets") or {}).get(MODEL_FACET)
    if isinstance(facet, dict) and isinstance(facet.get("model"), str) and isinstance(facet.get("version"), str):
        return facet["model"], facet["version"], str(facet.get("stage", ""))
    return None


def _link_model_output(intake: Intake, model_spec: tuple[str, str, str], input_ids: list[int]) -> ModelVersion:
    actor = intake.actor
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


def _close_stale(
    intake: Intake, job: Job, keep: dict[str, set[tuple]], event: Event, version: int, *, dst_columns: set[int]
) -> list[Edge]:
    """Close the job's current edges of the kinds in ``keep`` that this (newer) event no longer lists."""
    if not keep:
        return []
    index = intake.edge_index
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


def _schema_names(facets: dict) -> list[str]:
    schema = facets.get("schema")
    return [f["name"] for f in flatten_fields(schema.get("fields") or [])] if schema and not schema.get("_deleted") else []


def apply_event(intake: Intake, event: Event, *, stats: EventStats, version: int) -> EdgeChanges:
    """Merge ``event`` into the catalog and the graph at graph version ``version``; the edges changed."""
    actor = intake.actor
    changes = EdgeChanges()
    stats.producer = event.producer
    if event.kind == EventKind.DATASET:
        ds = event.dataset
        facets = ds.get("facets") or {}
        asset_id = asset_for(intake, ds["namespace"], ds["name"], stats=stats, facets=facets)
        apply_dataset_facets(intake, asset_id, facets, event, stats=stats)
        lineage = column_lineage_of(facets)
        if lineage:  # a DatasetEvent's own column lineage: edges without a job or run
            specs, _ = column_specs(intake, asset_id, lineage, schema_names=_schema_names(facets), stats=stats)
            changes += edges_assert(
                specs=specs, at=event.event_time, version=version, actor=actor, producer=event.producer, index=intake.edge_index
            )
        return changes
    parent_job = None
    parent = event.run_facets.get("parent")
    if parent and not parent.get("_deleted"):
        parent_job = job_for(intake, parent["job"]["namespace"], parent["job"]["name"])
    job = apply_job(intake, event, run_parent=parent_job, stats=stats)
    stats.job_id = job.pk
    run = apply_run(intake, event, job) if event.kind == EventKind.RUN else None
    input_ids = []
    for ds in event.inputs:
        facets = ds.get("facets") or {}
        asset_id = asset_for(intake, ds["namespace"], ds["name"], stats=stats, facets=facets)
        apply_dataset_facets(intake, asset_id, facets, event, stats=stats)
        input_ids.append(asset_id)
    # Datasets an output's ``lineage`` facet names as its sources are inputs of this job too.
    for ds in event.outputs:
        for namespace, name in lineage_dataset_inputs(ds.get("facets") or {}):
            asset_id = asset_for(intake, namespace, name, stats=stats)
            if asset_id not in input_ids:
                input_ids.append(asset_id)
    specs = [EdgeSpec(EdgeKind.CONSUMES, NodeType.ASSET, a, NodeType.JOB, job.pk) for a in input_ids]
    output_specs: list[EdgeSpec] = []
    col_specs: list[EdgeSpec] = []
    lineage_outputs: set[int] = set()  # ids of every column of outputs that carry column lineage
    models = []
    for ds in event.outputs:
        model_spec = _model_output(ds)
        if model_spec is not None:
            models.append(model_spec)
            continue
        facets = ds.get("facets") or {}
        asset_id = asset_for(intake, ds["namespace"], ds["name"], stats=stats, facets=facets)
        apply_dataset_facets(intake, asset_id, facets, event, stats=stats)
        output_specs.append(EdgeSpec(EdgeKind.PRODUCES, NodeType.JOB, job.pk, NodeType.ASSET, asset_id))
        lineage = column_lineage_of(facets)
        if lineage:
            more, out_column_ids = column_specs(intake, asset_id, lineage, schema_names=_schema_names(facets), stats=stats)
            col_specs += more
            lineage_outputs |= out_column_ids
    common = {
        "at": event.event_time,
        "version": version,
        "actor": actor,
        "job": job,
        "run": run,
        "producer": event.producer,
        "index": intake.edge_index,
    }
    changes += edges_assert(specs=specs + output_specs + col_specs, **common)
    for model_spec in models:
        model_version = _link_model_output(intake, model_spec, input_ids)
        changes += edges_assert(
            specs=[EdgeSpec(EdgeKind.TRAINED_ON, NodeType.ASSET, a, NodeType.MODEL_VERSION, model_version.pk) for a in input_ids],
            **common,
        )
        stats.model_versions.append(model_version.pk)
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
            keep[EdgeKind.DERIVES] = {s.key for s in col_specs}
            dst_columns = lineage_outputs
        changes.closed += _close_stale(intake, job, keep, event, version, dst_columns=dst_columns)
    return changes
