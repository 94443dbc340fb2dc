"""Marquez's API shapes (``spec/openapi.yml`` v0.51) over the Custos catalog and lineage graph.

Selectors for the views in :mod:`lineage.api.marquez`, all scoped by the reading user: a
restricted asset is absent for a user without ``view_restricted`` (as everywhere in lineage).
Mapping: a Marquez **namespace** is a dataset namespace (``DataSource.namespace``) or a job
namespace (``Job.namespace``); a **source** is a ``DataSource`` (named by its namespace, as the
OpenLineage integration names Marquez sources); a **dataset** a ``DataAsset``; a **job** a
``Job``; a **run** a ``Run`` (state names as Marquez: COMPLETED, FAILED, ABORTED, RUNNING, NEW).
"""

from __future__ import annotations

from typing import Any

from accounts.permissions import VIEW
from catalog.models import DataAsset, DataSource, Tag
from lineage.choices import EdgeKind, RunState
from lineage.models import Edge, Job, LineageEvent, Run
from lineage.selectors import NodeNotFound, _iso, _marquez_dataset, _marquez_job

RUN_STATES = {
    RunState.START: "RUNNING",
    RunState.RUNNING: "RUNNING",
    RunState.COMPLETE: "COMPLETED",
    RunState.FAIL: "FAILED",
    RunState.ABORT: "ABORTED",
    RunState.OTHER: "NEW",
}


def _assets(user: Any):
    return DataAsset.objects.restrict(user, VIEW).select_related("source").prefetch_related("columns__tags", "tags")


def _page(items: list, limit: int, offset: int) -> list:
    return items[offset : offset + limit]


def namespaces(*, user: Any) -> list[dict[str, Any]]:
    """Every dataset and job namespace, by name."""
    found: dict[str, dict[str, Any]] = {}
    for source in DataSource.objects.all():
        found[source.namespace] = {
            "name": source.namespace,
            "createdAt": _iso(source.created_at),
            "updatedAt": _iso(source.updated_at),
            "ownerName": "custos",
            "description": source.description or None,
        }
    for namespace, created, updated in Job.objects.values_list("namespace", "created_at", "updated_at"):
        item = found.setdefault(
            namespace,
            {
                "name": namespace,
                "createdAt": _iso(created),
                "updatedAt": _iso(updated),
                "ownerName": "custos",
                "description": None,
            },
        )
        item["updatedAt"] = max(item["updatedAt"] or "", _iso(updated) or "")
    return [found[name] for name in sorted(found)]


def namespace(*, user: Any, name: str) -> dict[str, Any]:
    for item in namespaces(user=user):
        if item["name"] == name:
            return item
    raise NodeNotFound("no such namespace")


def _source(source: DataSource) -> dict[str, Any]:
    return {
        "type": source.kind.upper(),
        "name": source.namespace,
        "createdAt": _iso(source.created_at),
        "updatedAt": _iso(source.updated_at),
        "connectionUrl": source.namespace,
        "description": source.description or None,
    }


def sources(*, user: Any) -> list[dict[str, Any]]:
    return [_source(s) for s in DataSource.objects.order_by("namespace")]


def source(*, user: Any, name: str) -> dict[str, Any]:
    found = DataSource.objects.filter(namespace=name).first()
    if found is None:
        raise NodeNotFound("no such source")
    return _source(found)


def _dataset(asset: DataAsset) -> dict[str, Any]:
    data = _marquez_dataset(asset)
    facets = getattr(getattr(asset, "lineage_facets", None), "facets", None) or {}
    data.update({"facets": facets, "currentVersion": None, "deleted": False})
    return data


def datasets(*, user: Any, namespace_name: str) -> list[dict[str, Any]]:
    assets = _assets(user).filter(source__namespace=namespace_name).order_by("qualified_name")
    return [_dataset(a) for a in assets.select_related("lineage_facets")]


def dataset(*, user: Any, namespace_name: str, name: str) -> dict[str, Any]:
    asset = _assets(user).filter(source__namespace=namespace_name, qualified_name=name).first()
    if asset is None:
        raise NodeNotFound("no such dataset")
    return _dataset(asset)


def dataset_asset(*, user: Any, namespace_name: str, name: str) -> DataAsset:
    asset = DataAsset.objects.restrict(user, VIEW).filter(source__namespace=namespace_name, qualified_name=name).first()
    if asset is None:
        raise NodeNotFound("no such dataset")
    return asset


def _job_io(job_ids: list[int], user: Any) -> dict[int, dict[str, list]]:
    hidden_ok = set(DataAsset.objects.restrict(user, VIEW).values_list("pk", flat=True))
    io: dict[int, dict[str, list]] = {j: {"inputs": [], "outputs": []} for j in job_ids}
    edges = Edge.objects.filter(job_id__in=job_ids, valid_to__isnull=True, kind__in=[EdgeKind.CONSUMES, EdgeKind.PRODUCES])
    asset_ids = {e.src_id if e.kind == EdgeKind.CONSUMES else e.dst_id for e in edges}
    assets = {a.pk: a for a in DataAsset.objects.filter(pk__in=asset_ids & hidden_ok).select_related("source")}
    for e in edges:
        asset = assets.get(e.src_id if e.kind == EdgeKind.CONSUMES else e.dst_id)
        if asset is not None:
            io[e.job_id]["inputs" if e.kind == EdgeKind.CONSUMES else "outputs"].append(
                {"namespace": asset.source.namespace, "name": asset.qualified_name}
            )
    return io


def run_dict(run: Run) -> dict[str, Any]:
    duration = int((run.ended_at - run.started_at).total_seconds() * 1000) if run.started_at and run.ended_at else None
    return {
        "id": str(run.run_id),
        "createdAt": _iso(run.created_at),
        "updatedAt": _iso(run.last_event_time),
        "nominalStartTime": None,
        "nominalEndTime": None,
        "state": RUN_STATES.get(run.state, "NEW"),
        "startedAt": _iso(run.started_at),
        "endedAt": _iso(run.ended_at),
        "durationMs": duration,
        "args": {},
        "jobVersion": {"namespace": run.job.namespace, "name": run.job.name, "version": None},
        "inputDatasetVersions": [],
        "outputDatasetVersions": [],
        "context": {"sql": run.sql} if run.sql else {},
        "facets": run.facets,
    }


def _job(job: Job, io: dict[str, list], latest: Run | None) -> dict[str, Any]:
    data = _marquez_job(job, io)
    processing = (job.facets.get("jobType") or {}).get("processingType", "BATCH")
    data["type"] = processing if processing in ("BATCH", "STREAMING", "SERVICE") else "BATCH"
    data.update(
        {
            "context": {"sql": job.sql} if job.sql else {},
            "latestRun": run_dict(latest) if latest else None,
            "latestRuns": [run_dict(latest)] if latest else [],
            "facets": job.facets,
            "currentVersion": None,
        }
    )
    return data


def jobs(*, user: Any, namespace_name: str) -> list[dict[str, Any]]:
    found = list(Job.objects.filter(namespace=namespace_name).select_related("parent").order_by("name"))
    io = _job_io([j.pk for j in found], user)
    latest: dict[int, Run] = {}
    for run in Run.objects.filter(job__in=found).select_related("job").order_by("job_id", "-last_event_time"):
        latest.setdefault(run.job_id, run)
    return [_job(j, io[j.pk], latest.get(j.pk)) for j in found]


def job(*, user: Any, namespace_name: str, name: str) -> dict[str, Any]:
    found = Job.objects.filter(namespace=namespace_name, name=name).select_related("parent").first()
    if found is None:
        raise NodeNotFound("no such job")
    latest = Run.objects.filter(job=found).select_related("job").order_by("-last_event_time").first()
    return _job(found, _job_io([found.pk], user)[found.pk], latest)


def job_runs(*, user: Any, namespace_name: str, name: str) -> list[dict[str, Any]]:
    found = Job.objects.filter(namespace=namespace_name, name=name).first()
    if found is None:
        raise NodeNotFound("no such job")
    return [run_dict(r) for r in Run.objects.filter(job=found).select_related("job").order_by("-last_event_time")]


def run(*, user: Any, run_id: str) -> dict[str, Any]:
    found = Run.objects.filter(run_id=run_id).select_related("job").first()
    if found is None:
        raise NodeNotFound("no such run")
    return run_dict(found)


def tags(*, user: Any) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description or None} for t in Tag.objects.order_by("name")]


def events(*, user: Any) -> Any:
    """Raw OpenLineage events, newest first (payloads as received)."""
    return LineageEvent.objects.order_by("-event_time", "-pk")
