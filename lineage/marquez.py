"""Marquez's API shapes (``spec/openapi.yml`` v0.51) over the Custos catalog and lineage graph.

Selectors for the views in :mod:`lineage.api.marquez`, all scoped by the reading user through
``restrict()``: a restricted asset is absent for a user without ``view_restricted`` (as
everywhere in lineage), and so are the jobs that read or wrote one, their runs and raw events
(``lineage.models.Job.restricted_q``).

Versions (Custos keeps no version tables; derived, deterministic ids): a **dataset version** is
one run's completed write of the dataset (a COMPLETE RunEvent listing it as an output), with the
fields that event's schema facet sent (the current columns if it sent none); a **job version**
is one distinct (inputs, outputs, source location, SQL) the job's completed runs had. Both ids
are UUID 5 of what identifies them, so they are stable across reads and processes.
Mapping: a Marquez **namespace** is a dataset namespace (``DataSource.namespace``) or a job
namespace (``Job.namespace``); a **source** is a ``DataSource`` (named by its namespace, as the
OpenLineage integration names Marquez sources); a **dataset** a ``DataAsset``; a **job** a
``Job``; a **run** a ``Run`` (state names as Marquez: COMPLETED, FAILED, ABORTED, RUNNING, NEW).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from accounts.permissions import VIEW
from catalog.models import Column, DataAsset, DataSource, Tag
from lineage.choices import EdgeKind, NodeType, RunState
from lineage.graph import graphs_at
from lineage.models import DatasetAlias, Edge, Job, LineageEvent, Run
from lineage.selectors import NodeNotFound, Subgraph, _bfs, _hidden_pred, _iso, _marquez_dataset, _marquez_job, hidden_assets

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
    for namespace, created, updated in Job.objects.restrict(user, VIEW).values_list("namespace", "created_at", "updated_at"):
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
    pk = dataset_asset(user=user, namespace_name=namespace_name, name=name).pk
    asset = _assets(user).select_related("lineage_facets").get(pk=pk)
    data = _dataset(asset)
    versions = _dataset_versions(asset, user)
    data["currentVersion"] = versions[0]["version"] if versions else None
    return data


def dataset_asset(*, user: Any, namespace_name: str, name: str) -> DataAsset:
    """The asset a Marquez dataset id names (directly or through a ``symlinks`` alias), if visible."""
    visible = DataAsset.objects.restrict(user, VIEW).select_related("source")
    asset = visible.filter(source__namespace=namespace_name, qualified_name=name).first()
    if asset is None:
        alias = DatasetAlias.objects.filter(namespace=namespace_name, name=name).values_list("asset_id", flat=True).first()
        asset = visible.filter(pk=alias).first() if alias is not None else None
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


def _job(job: Job, io: dict[str, list], latest: dict[str, Any] | None) -> dict[str, Any]:
    data = _marquez_job(job, io)
    data.update(
        {
            "context": {"sql": job.sql} if job.sql else {},
            "latestRun": latest,
            "latestRuns": [latest] if latest else [],
            "facets": job.facets,
            "currentVersion": None,
        }
    )
    return data


def jobs(*, user: Any, namespace_name: str) -> list[dict[str, Any]]:
    found = list(Job.objects.restrict(user, VIEW).filter(namespace=namespace_name).select_related("parent").order_by("name"))
    io = _job_io([j.pk for j in found], user)
    latest = latest_runs([j.pk for j in found])
    return [_job(j, io[j.pk], latest.get(j.pk)) for j in found]


def job(*, user: Any, namespace_name: str, name: str) -> dict[str, Any]:
    found = job_row(user=user, namespace_name=namespace_name, name=name)
    data = _job(found, _job_io([found.pk], user)[found.pk], latest_runs([found.pk]).get(found.pk))
    versions = job_versions(user=user, namespace_name=namespace_name, name=name)
    data["currentVersion"] = versions[0]["version"] if versions else None
    return data


def job_row(*, user: Any, namespace_name: str, name: str) -> Job:
    found = Job.objects.restrict(user, VIEW).filter(namespace=namespace_name, name=name).select_related("parent").first()
    if found is None:
        raise NodeNotFound("no such job")
    return found


def job_runs(*, user: Any, namespace_name: str, name: str) -> list[dict[str, Any]]:
    found = job_row(user=user, namespace_name=namespace_name, name=name)
    return [run_dict(r) for r in Run.objects.filter(job=found).select_related("job").order_by("-last_event_time")]


def run_row(*, user: Any, run_id: str) -> Run:
    found = Run.objects.restrict(user, VIEW).filter(run_id=run_id).select_related("job").first()
    if found is None:
        raise NodeNotFound("no such run")
    return found


def run(*, user: Any, run_id: str) -> dict[str, Any]:
    return run_dict(run_row(user=user, run_id=run_id))


def run_facets(*, user: Any, run_id: str, facet_type: str) -> dict[str, Any]:
    """``GET /jobs/runs/{id}/facets?type=run|job``: the run's facets, or its job's."""
    found = run_row(user=user, run_id=run_id)
    if facet_type not in ("run", "job"):
        raise ValueError("type must be run or job")
    return {"runId": str(found.run_id), "facets": found.facets if facet_type == "run" else found.job.facets}


def tags(*, user: Any) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description or None} for t in Tag.objects.order_by("name")]


def events(*, user: Any) -> Any:
    """Raw OpenLineage events the user may see, newest first (payloads as received)."""
    return LineageEvent.objects.restrict(user, VIEW).order_by("-event_time", "-pk")


# --- versions -----------------------------------------------------------------------------------

VERSION_NS = uuid.UUID("6f1c3c52-8a57-4c43-9a44-6f2d4f1f7a10")  # UUID 5 namespace of derived version ids


def _identifiers(asset: DataAsset) -> set[tuple[str, str]]:
    names = {(asset.source.namespace, asset.qualified_name)}
    names |= set(DatasetAlias.objects.filter(asset=asset).values_list("namespace", "name"))
    return names


def _writes(asset: DataAsset, user: Any) -> list[tuple[LineageEvent, dict]]:
    """(event, output dataset) of each completed run event that wrote ``asset``, newest first."""
    job_ids = Edge.objects.filter(kind=EdgeKind.PRODUCES, dst_type=NodeType.ASSET, dst_id=asset.pk).values("job_id")
    jobs = list(Job.objects.filter(pk__in=job_ids).values_list("namespace", "name"))
    if not jobs:
        return []
    names = _identifiers(asset)
    by_job = Q()
    for namespace, name in jobs:
        by_job |= Q(job_namespace=namespace, job_name=name)
    found = []
    for event in (
        LineageEvent.objects.restrict(user, VIEW).filter(by_job, event_type=RunState.COMPLETE).order_by("-event_time", "-pk")
    ):
        for output in event.payload.get("outputs") or []:
            if (output.get("namespace"), output.get("name")) in names:
                found.append((event, output))
                break
    return found


def _schema_fields(output: dict) -> list[dict[str, Any]] | None:
    schema = (output.get("facets") or {}).get("schema") or {}
    if not schema.get("fields"):
        return None
    return [
        {"name": f.get("name"), "type": f.get("type"), "tags": [], "description": f.get("description")}
        for f in schema["fields"]
        if isinstance(f, dict)
    ]


def _dataset_versions(asset: DataAsset, user: Any) -> list[dict[str, Any]]:
    base = _marquez_dataset(asset)
    writes = _writes(asset, user)
    runs = {r.run_id: r for r in Run.objects.filter(run_id__in=[e.run_id for e, _ in writes]).select_related("job")}
    versions = []
    for event, output in writes:
        version = str(uuid.uuid5(VERSION_NS, f"dataset:{asset.pk}:{event.run_id}"))
        run = runs.get(event.run_id)
        versions.append(
            {
                "id": {"namespace": base["namespace"], "name": base["name"], "version": version},
                "type": base["type"],
                "name": base["name"],
                "physicalName": base["physicalName"],
                "createdAt": _iso(event.event_time),
                "version": version,
                "namespace": base["namespace"],
                "sourceName": base["sourceName"],
                "fields": _schema_fields(output) or base["fields"],
                "tags": base["tags"],
                "description": base["description"],
                "createdByRun": run_dict(run) if run else None,
                "facets": output.get("facets") or {},
            }
        )
    return versions


def dataset_versions(*, user: Any, namespace_name: str, name: str) -> list[dict[str, Any]]:
    """Every version of a dataset, newest first (see the module docstring)."""
    asset = dataset_asset(user=user, namespace_name=namespace_name, name=name)
    asset = _assets(user).get(pk=asset.pk)
    return _dataset_versions(asset, user)


def dataset_version(*, user: Any, namespace_name: str, name: str, version: str) -> dict[str, Any]:
    for item in dataset_versions(user=user, namespace_name=namespace_name, name=name):
        if item["version"] == version:
            return item
    raise NodeNotFound("no such dataset version")


def _ids(items: list[dict]) -> list[dict[str, str]]:
    pairs = {(d.get("namespace", ""), d.get("name", "")) for d in items if isinstance(d, dict)}
    return [{"namespace": ns, "name": n} for ns, n in sorted(pairs)]


def job_versions(*, user: Any, namespace_name: str, name: str) -> list[dict[str, Any]]:
    """The distinct versions of a job, newest first: one per (inputs, outputs, location, SQL) its
    completed runs had, created at its first such run, ``latestRun`` its newest."""
    job = job_row(user=user, namespace_name=namespace_name, name=name)
    events = (
        LineageEvent.objects.restrict(user, VIEW)
        .filter(job_namespace=job.namespace, job_name=job.name, event_type=RunState.COMPLETE)
        .order_by("event_time", "pk")
    )
    versions: dict[str, dict[str, Any]] = {}
    latest_run: dict[str, uuid.UUID] = {}
    for event in events:
        payload = event.payload
        facets = (payload.get("job") or {}).get("facets") or {}
        inputs, outputs = _ids(payload.get("inputs") or []), _ids(payload.get("outputs") or [])
        location = (facets.get("sourceCodeLocation") or {}).get("url")
        sql = (facets.get("sql") or {}).get("query")
        key = repr((inputs, outputs, location, sql))
        version = str(uuid.uuid5(VERSION_NS, f"job:{job.pk}:{key}"))
        if version not in versions:
            versions[version] = {
                "id": {"namespace": job.namespace, "name": job.name, "version": version},
                "name": job.name,
                "version": version,
                "createdAt": _iso(event.event_time),
                "namespace": job.namespace,
                "inputs": inputs,
                "outputs": outputs,
                "location": location,
                "context": {"sql": sql} if sql else {},
                "facets": facets,
            }
        latest_run[version] = event.run_id
    runs = {r.run_id: r for r in Run.objects.filter(run_id__in=list(latest_run.values())).select_related("job")}
    out = []
    for version, item in versions.items():
        run = runs.get(latest_run[version])
        out.append(item | {"latestRun": run_dict(run) if run else None})
    out.sort(key=lambda v: (v["latestRun"] or {}).get("updatedAt") or v["createdAt"] or "", reverse=True)
    return out


def job_version(*, user: Any, namespace_name: str, name: str, version: str) -> dict[str, Any]:
    for item in job_versions(user=user, namespace_name=namespace_name, name=name):
        if item["version"] == version:
            return item
    raise NodeNotFound("no such job version")


# --- column lineage -----------------------------------------------------------------------------


def _split(rest: str, known: set[str]) -> tuple[str, str] | None:
    """Split ``<namespace>:<rest>`` at the longest known namespace (namespaces may hold ``:``)."""
    best = None
    for i, ch in enumerate(rest):
        if ch == ":" and rest[:i] in known:
            best = (rest[:i], rest[i + 1 :])
    return best


def _dataset_namespaces(rest: str) -> set[str]:
    candidates = {rest[:i] for i, ch in enumerate(rest) if ch == ":"}
    found = set(DataSource.objects.filter(namespace__in=candidates).values_list("namespace", flat=True))
    return found | set(DatasetAlias.objects.filter(namespace__in=candidates).values_list("namespace", flat=True))


def _column_starts(user: Any, node_id: str) -> list[int]:
    """Column ids a Marquez column-lineage ``nodeId`` starts from (``#version`` suffixes ignored:
    Custos answers for the current graph)."""
    kind, _, rest = node_id.partition(":")
    rest = rest.split("#", 1)[0]
    if kind == "dataset":
        split = _split(rest, _dataset_namespaces(rest))
        if split is None:
            raise NodeNotFound("no such dataset")
        asset = dataset_asset(user=user, namespace_name=split[0], name=split[1])
        return list(asset.columns.values_list("pk", flat=True))
    if kind == "datasetField":
        split = _split(rest, _dataset_namespaces(rest))
        if split is None or ":" not in split[1]:
            raise NodeNotFound("no such dataset field")
        dataset_name, field_name = split[1].rsplit(":", 1)
        asset = dataset_asset(user=user, namespace_name=split[0], name=dataset_name)
        column = asset.columns.filter(name=field_name).values_list("pk", flat=True).first()
        if column is None:
            raise NodeNotFound("no such dataset field")
        return [column]
    if kind == "job":
        candidates = {rest[:i] for i, ch in enumerate(rest) if ch == ":"}
        split = _split(rest, set(Job.objects.filter(namespace__in=candidates).values_list("namespace", flat=True)))
        if split is None:
            raise NodeNotFound("no such job")
        job = job_row(user=user, namespace_name=split[0], name=split[1])
        outputs = Edge.objects.filter(job=job, kind=EdgeKind.PRODUCES, valid_to__isnull=True).values("dst_id")
        return list(Column.objects.filter(asset_id__in=outputs).values_list("pk", flat=True))
    raise ValueError(
        "nodeId must be dataset:<namespace>:<name>, datasetField:<namespace>:<name>:<field> or job:<namespace>:<name>"
    )


def column_lineage(*, user: Any, node_id: str, depth: int = 20, with_downstream: bool = False) -> dict[str, Any]:
    """Marquez's ``GET /column-lineage``: DATASET_FIELD nodes upstream of the start fields (and
    downstream with ``with_downstream``) to ``depth`` column edges, each node's ``data`` as
    Marquez's ColumnLineageNodeData (its ``inputFields`` with every transformation kept)."""
    starts = [f"column:{pk}" for pk in _column_starts(user, node_id)]
    hidden = hidden_assets(user)
    sub = Subgraph(roots=starts)
    with graphs_at(None) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        _bfs(graphs.columns, starts, depth, reverse=True, is_hidden=is_hidden, out=sub)
        if with_downstream:
            _bfs(graphs.columns, starts, depth, reverse=False, is_hidden=is_hidden, out=sub)
    if not sub.nodes:
        sub.nodes = dict.fromkeys(starts, 0)
    ids = [int(k[7:]) for k in sub.nodes]
    columns = {c.pk: c for c in Column.objects.filter(pk__in=ids).select_related("asset__source")}
    names = {pk: f"datasetField:{c.asset.source.namespace}:{c.asset.qualified_name}:{c.name}" for pk, c in columns.items()}
    edge_ids = [edge_id for _, _, edge_id in sub.edges]
    edges = list(Edge.objects.filter(pk__in=edge_ids, kind__in=[EdgeKind.DERIVES, EdgeKind.ANONYMIZED]))
    inputs: dict[int, list[Edge]] = {}
    for e in edges:
        if e.src_id in columns and e.dst_id in columns:
            inputs.setdefault(e.dst_id, []).append(e)
    graph = []
    for pk in sorted(columns, key=lambda p: names[p]):
        c = columns[pk]
        ins = sorted(inputs.get(pk, []), key=lambda e: names[e.src_id])
        input_fields = [
            {
                "namespace": columns[e.src_id].asset.source.namespace,
                "dataset": columns[e.src_id].asset.qualified_name,
                "datasetVersion": None,
                "field": columns[e.src_id].name,
                "transformationDescription": e.description or None,
                "transformationType": e.transformation_type or None,
                "transformations": e.transformations,
            }
            for e in ins
        ]
        graph.append(
            {
                "id": names[pk],
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": c.asset.source.namespace,
                    "dataset": c.asset.qualified_name,
                    "datasetVersion": None,
                    "field": c.name,
                    "fieldType": c.data_type or None,
                    "transformationDescription": input_fields[0]["transformationDescription"] if input_fields else None,
                    "transformationType": input_fields[0]["transformationType"] if input_fields else None,
                    "inputFields": input_fields,
                },
                "inEdges": [{"origin": names[e.src_id], "destination": names[pk]} for e in ins],
                "outEdges": sorted(
                    (
                        {"origin": names[pk], "destination": names[e.dst_id]}
                        for e in edges
                        if e.src_id == pk and e.dst_id in columns
                    ),
                    key=lambda d: d["destination"],
                ),
            }
        )
    return {"graph": graph}


# --- search -------------------------------------------------------------------------------------


def search(
    *,
    user: Any,
    q: str,
    filter_type: str | None = None,
    sort: str = "name",
    namespace_name: str | None = None,
    before: date | None = None,
    after: date | None = None,
) -> list[dict[str, Any]]:
    """Marquez's ``GET /search``: datasets and jobs whose name contains ``q`` (case-insensitive),
    optionally of one type (``dataset``/``job``) or namespace, updated before/after a date; sorted
    by ``name`` or ``updated_at`` (newest first)."""
    results: list[dict[str, Any]] = []
    if filter_type in (None, "dataset"):
        assets = DataAsset.objects.restrict(user, VIEW).select_related("source").filter(qualified_name__icontains=q)
        if namespace_name:
            assets = assets.filter(source__namespace=namespace_name)
        if before:
            assets = assets.filter(updated_at__date__lt=before)
        if after:
            assets = assets.filter(updated_at__date__gt=after)
        for a in assets[:MAX_SEARCH]:
            results.append(
                {
                    "type": "DATASET",
                    "name": a.qualified_name,
                    "updatedAt": _iso(a.updated_at),
                    "namespace": a.source.namespace,
                    "nodeId": f"dataset:{a.source.namespace}:{a.qualified_name}",
                }
            )
    if filter_type in (None, "job"):
        found = Job.objects.restrict(user, VIEW).filter(name__icontains=q)
        if namespace_name:
            found = found.filter(namespace=namespace_name)
        if before:
            found = found.filter(updated_at__date__lt=before)
        if after:
            found = found.filter(updated_at__date__gt=after)
        for j in found[:MAX_SEARCH]:
            results.append(
                {
                    "type": "JOB",
                    "name": j.name,
                    "updatedAt": _iso(j.updated_at),
                    "namespace": j.namespace,
                    "nodeId": f"job:{j.namespace}:{j.name}",
                }
            )
    if sort == "updated_at":
        results.sort(key=lambda r: r["updatedAt"] or "", reverse=True)
    else:
        results.sort(key=lambda r: (r["name"], r["namespace"], r["type"]))
    return results


MAX_SEARCH = 1000


def parse_day(value: str, name: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{name} must be YYYY-MM-DD") from None


def latest_runs(job_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each job's newest run (by last event time) as Marquez's Run, in two queries whatever the
    number of runs a job has."""
    newest = Run.objects.filter(job_id=OuterRef("pk")).order_by("-last_event_time", "-pk").values("pk")[:1]
    run_ids = Job.objects.filter(pk__in=job_ids).annotate(latest=Subquery(newest)).values_list("latest", flat=True)
    runs = Run.objects.filter(pk__in=[r for r in run_ids if r is not None]).select_related("job")
    return {run.job_id: run_dict(run) for run in runs}


def lineage(*, user: Any, node_id: str, depth: int = 20) -> dict[str, Any]:
    """Marquez's ``GET /lineage``: :func:`lineage.selectors.marquez_lineage` with each job node's
    ``latestRun``."""
    from lineage.selectors import marquez_lineage

    return marquez_lineage(user=user, node_id=node_id, depth=depth, latest_runs=latest_runs)
