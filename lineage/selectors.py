"""Reads of the provenance graph. Every function takes the reading user and scopes by it: for a
user without ``view_restricted``, restricted assets and their columns are not in any answer and
traversals do not pass through them.

Traversals run on the per-process networkx cache (``lineage.graph.cache``) -- or, with ``at=``,
on a graph rebuilt for that moment from the edges' ``valid_from``/``valid_to``. Depth counts
edges (asset -> job -> asset is depth 2), as in Marquez.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.permissions import VIEW, VIEW_RESTRICTED, user_can
from catalog.choices import ClassificationSource, ClassificationState
from catalog.models import Classification, Column, DataAsset, DataSource, MLModel, ModelVersion
from lineage.choices import EdgeKind, NodeType
from lineage.graph import Graphs, graphs_at, split_key
from lineage.models import Edge, Job, Run

LIVE = (ClassificationState.SUGGESTED, ClassificationState.CONFIRMED)


class NodeNotFound(LookupError):
    """No such node, or not one the user may see (the same answer, so existence does not leak)."""


class Subgraph:
    """The result of a traversal: node key -> distance from the start, and edges (u, v, edge id).

    Edges are materialised on first use from the walks that found the nodes (a traversal that is
    only counted or checked never pays for them).
    """

    def __init__(
        self,
        roots: list[str],
        nodes: dict[str, int] | None = None,
        edges: list[tuple[str, str, int]] | None = None,
        at: datetime | None = None,
    ) -> None:
        self.roots = roots
        self.nodes: dict[str, int] = {} if nodes is None else nodes
        self.at = at
        self._edges = edges
        self._walks: list[tuple[dict, bool, int | None, dict[str, int]]] = []

    @property
    def edges(self) -> list[tuple[str, str, int]]:
        if self._edges is None:
            from lineage.graph import cache

            edges: dict[int, tuple[str, str, int]] = {}
            with cache._lock:
                for adj, reverse, depth, found in self._walks:
                    for node, level in found.items():
                        if depth is not None and level >= depth:
                            continue
                        for nxt, data in adj[node].items() if node in adj else ():
                            if nxt in found:
                                edges[data["id"]] = (nxt, node, data["id"]) if reverse else (node, nxt, data["id"])
            self._edges = list(edges.values())
        return self._edges


# --- scoping ------------------------------------------------------------------------------------


def hidden_assets(user: Any) -> frozenset[int] | None:
    """Asset ids ``user`` may not see (None: sees all). Raises PermissionDenied without ``view``."""
    if not user_can(user, VIEW):
        raise PermissionDenied
    if user_can(user, VIEW_RESTRICTED):
        return None
    from lineage.graph import cache

    return cache.restricted.get()  # kept per process, exact after this process's writes (see RestrictedAssets)


def _hidden_pred(hidden: frozenset[int] | None, graphs: Graphs):
    if not hidden:
        return None
    column_asset = graphs.column_asset

    def is_hidden(node: str) -> bool:
        if node.startswith("asset:"):
            return int(node[6:]) in hidden
        if node.startswith("column:"):
            return column_asset.get(int(node[7:])) in hidden
        return False

    return is_hidden


def _node_exists(node_type: str, node_id: int) -> bool:
    model = {
        NodeType.ASSET: DataAsset,
        NodeType.COLUMN: Column,
        NodeType.JOB: Job,
        NodeType.MODEL_VERSION: ModelVersion,
    }.get(node_type)
    return model is not None and model.objects.filter(pk=node_id).exists()


def _start(node: str, graphs: Graphs, is_hidden) -> tuple[str, int]:
    node_type, node_id = split_key(node)
    if node_type == NodeType.RUN:
        raise ValueError("runs are not traversal starts; use their job (job:<id>)")
    if is_hidden is not None:
        if node_type == NodeType.COLUMN and node not in graphs.column_asset and node_id not in graphs.column_asset:
            asset_id = Column.objects.filter(pk=node_id).values_list("asset_id", flat=True).first()
            if asset_id is not None:
                graphs.column_asset[node_id] = asset_id
        if is_hidden(node):
            raise NodeNotFound(f"no node {node}")
    if node in graphs.assets or node in graphs.columns:
        return node_type, node_id
    if node_type == NodeType.ASSET and node_id in graphs.known_assets:
        return node_type, node_id
    if not _node_exists(node_type, node_id):
        raise NodeNotFound(f"no node {node}")
    if node_type == NodeType.ASSET:
        graphs.known_assets.add(node_id)
    return node_type, node_id


def _bfs(graph, starts: list[str], depth: int | None, *, reverse: bool, is_hidden=None, skip=None, out: Subgraph) -> None:
    """Level-by-level BFS (as networkx's single_source_shortest_path_length) into ``out``."""
    adj = graph._pred if reverse else graph._succ
    found: dict[str, int] = dict.fromkeys(starts, 0)
    frontier = [start for start in starts if start in adj]
    level = 0
    limit = depth if depth is not None else len(adj) + 1
    filtered = is_hidden is not None or skip is not None
    while frontier and level < limit:
        level += 1
        next_frontier = []
        for node in frontier:
            neighbours = adj[node]
            for nxt in neighbours:
                if nxt in found:
                    continue
                if filtered and ((is_hidden is not None and is_hidden(nxt)) or (skip is not None and skip(nxt, neighbours[nxt]))):
                    continue
                found[nxt] = level
                next_frontier.append(nxt)
        frontier = next_frontier
    out._walks.append((adj, reverse, depth, found))
    if not out.nodes:
        out.nodes = dict(found) if len(out._walks) > 1 else found
        return
    nodes = out.nodes
    for node, dist in found.items():
        if node not in nodes or dist < nodes[node]:
            nodes[node] = dist


# --- traversals ---------------------------------------------------------------------------------


def lineage(
    *, user: Any, node: str, direction: str = "both", depth: int | None = 3, level: str = "asset", at: datetime | None = None
) -> Subgraph:
    """Upstream and/or downstream of ``node`` within ``depth`` edges, at asset or column level.

    An asset at column level starts from all its columns; a column at asset level from its asset.
    """
    hidden = hidden_assets(user)
    with graphs_at(at) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        node_type, node_id = _start(node, graphs, is_hidden)
        if level == "column" and node_type == NodeType.ASSET:
            starts = [f"column:{c}" for c in Column.objects.filter(asset_id=node_id).values_list("pk", flat=True)]
        elif level == "asset" and node_type == NodeType.COLUMN:
            starts = [f"asset:{Column.objects.values_list('asset_id', flat=True).get(pk=node_id)}"]
        else:
            starts = [node]
        graph = graphs.columns if level == "column" else graphs.assets
        sub = Subgraph(roots=starts, at=at)
        if direction in ("upstream", "both"):
            _bfs(graph, starts, depth, reverse=True, is_hidden=is_hidden, out=sub)
        if direction in ("downstream", "both"):
            _bfs(graph, starts, depth, reverse=False, is_hidden=is_hidden, out=sub)
        return sub


def upstream(*, user: Any, node: str, depth: int | None = 5, level: str = "asset", at: datetime | None = None) -> Subgraph:
    return lineage(user=user, node=node, direction="upstream", depth=depth, level=level, at=at)


def downstream(*, user: Any, node: str, depth: int | None = 5, level: str = "asset", at: datetime | None = None) -> Subgraph:
    return lineage(user=user, node=node, direction="downstream", depth=depth, level=level, at=at)


def impact_keys(*, user: Any, node: str, at: datetime | None = None) -> Subgraph:
    """Everything downstream of an asset (its datasets, jobs, models, and its columns' derivations)
    or of a column (derived columns, then models trained or evaluated on their assets)."""
    hidden = hidden_assets(user)
    with graphs_at(at) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        node_type, node_id = _start(node, graphs, is_hidden)
        if node_type not in (NodeType.ASSET, NodeType.COLUMN):
            raise ValueError("impact analysis starts from an asset or a column")
        sub = Subgraph(roots=[node], at=at)
        if node_type == NodeType.ASSET:
            _bfs(graphs.assets, [node], None, reverse=False, is_hidden=is_hidden, out=sub)
            column_keys = [f"column:{c}" for c in graphs.asset_columns(node_id)]
            _bfs(graphs.columns, column_keys, None, reverse=False, is_hidden=is_hidden, out=sub)
            # The start asset's own columns are not "affected"; their derivations are.
            for key in column_keys:
                if sub.nodes.get(key) == 0:
                    del sub.nodes[key]
        else:
            _bfs(graphs.columns, [node], None, reverse=False, is_hidden=is_hidden, out=sub)
            assets = {f"asset:{graphs.column_asset.get(int(k[7:]))}" for k in sub.nodes}
            for asset in sorted(assets):
                for nxt, data in graphs.assets._succ.get(asset, {}).items():
                    if nxt.startswith("model_version:"):
                        sub.nodes.setdefault(nxt, sub.nodes.get(asset, 1) + 1)
                        sub.edges.append((asset, nxt, data["id"]))
                sub.nodes.setdefault(asset, 1)
        return sub


def impact(*, user: Any, node: str, at: datetime | None = None) -> dict[str, Any]:
    """Impact analysis grouped by type: assets, columns, jobs, model versions and owners affected."""
    sub = impact_keys(user=user, node=node, at=at)
    described = describe(sub, user=user, with_edges=False)
    groups: dict[str, list] = {"assets": [], "columns": [], "jobs": [], "model_versions": []}
    for item in described["nodes"]:
        if item["id"] in sub.roots:
            continue
        groups[{"asset": "assets", "column": "columns", "job": "jobs", "model_version": "model_versions"}[item["type"]]].append(
            item
        )
    asset_ids = {int(k[6:]) for k in sub.nodes if k.startswith("asset:")} - {
        int(k[6:]) for k in sub.roots if k.startswith("asset:")
    }
    mv_ids = [item["pk"] for item in groups["model_versions"]]
    owners: dict[str, dict] = {}
    for asset_id, username in DataAsset.owners.through.objects.filter(dataasset_id__in=asset_ids).values_list(
        "dataasset_id", "user__username"
    ):
        owners.setdefault(username, {"username": username, "owns": []})["owns"].append(f"asset:{asset_id}")
    for mv_id, username in ModelVersion.objects.filter(pk__in=mv_ids, model__owner__isnull=False).values_list(
        "pk", "model__owner__username"
    ):
        owners.setdefault(username, {"username": username, "owns": []})["owns"].append(f"model_version:{mv_id}")
    for job in Job.objects.filter(pk__in=[item["pk"] for item in groups["jobs"]]):
        for owner in job.owners:
            name = str(owner.get("name", ""))
            owners.setdefault(name, {"username": name, "owns": []})["owns"].append(f"job:{job.pk}")
    groups["owners"] = sorted(owners.values(), key=lambda o: o["username"])
    return {
        "root": node,
        "at": at.isoformat() if at else None,
        "counts": {k: len(v) for k, v in groups.items()},
        **groups,
    }


def model_provenance(*, user: Any, model_version_id: int, at: datetime | None = None) -> dict[str, Any]:
    """Everything a model version came from, back to the sources, with the runs and people on the way."""
    if not ModelVersion.objects.filter(pk=model_version_id).exists():
        raise NodeNotFound(f"no model version {model_version_id}")
    node = f"model_version:{model_version_id}"
    hidden = hidden_assets(user)
    with graphs_at(at) as graphs:
        sub = Subgraph(roots=[node], at=at)
        _bfs(graphs.assets, [node], None, reverse=True, is_hidden=_hidden_pred(hidden, graphs), out=sub)
        asset_keys = [k for k in sub.nodes if k.startswith("asset:")]
        # Column derivations inside the upstream assets: how each column was made.
        columns = [
            f"column:{c}"
            for c in Column.objects.filter(asset_id__in=[int(k[6:]) for k in asset_keys]).values_list("pk", flat=True)
        ]
        col_sub = Subgraph(roots=[])
        _bfs(graphs.columns, columns, None, reverse=True, is_hidden=_hidden_pred(hidden, graphs), out=col_sub)
    described = describe(sub, user=user)
    column_edges = describe(col_sub, user=user, nodes=False)["edges"]
    sources = [
        n for n in described["nodes"] if n["type"] == "asset" and not any(e["target"] == n["id"] for e in described["edges"])
    ]
    run_ids = {e["run"]["run_id"] for e in described["edges"] + column_edges if e.get("run")}
    runs = [
        {
            "run_id": str(r.run_id),
            "job": f"job:{r.job_id}",
            "job_name": f"{r.job.namespace}:{r.job.name}",
            "state": r.state,
            "started_at": _iso(r.started_at),
            "ended_at": _iso(r.ended_at),
            "submitted_by": r.submitted_by,
            "producer": r.producer,
            "sql": r.sql,
            "code_location": r.code_location,
        }
        for r in Run.objects.filter(run_id__in=run_ids).select_related("job").order_by("started_at", "last_event_time")
    ]
    people: dict[str, set[str]] = {}
    for run in runs:
        if run["submitted_by"]:
            people.setdefault(run["submitted_by"], set()).add("ran jobs")
    for e in described["edges"] + column_edges:
        if e.get("actor"):
            people.setdefault(e["actor"], set()).add("recorded lineage")
    for _asset_id, username in DataAsset.owners.through.objects.filter(
        dataasset_id__in=[n["pk"] for n in described["nodes"] if n["type"] == "asset"]
    ).values_list("dataasset_id", "user__username"):
        people.setdefault(username, set()).add("owns data")
    for job in Job.objects.filter(pk__in=[n["pk"] for n in described["nodes"] if n["type"] == "job"]):
        for owner in job.owners:
            people.setdefault(str(owner.get("name", "")), set()).add("owns a job")
    mv = ModelVersion.objects.select_related("model__owner").get(pk=model_version_id)
    if mv.model.owner:
        people.setdefault(mv.model.owner.get_username(), set()).add("owns the model")
    return {
        "model_version": {"id": node, "pk": mv.pk, "name": str(mv), "stage": mv.stage},
        "at": at.isoformat() if at else None,
        "sources": sources,
        "nodes": described["nodes"],
        "edges": described["edges"],
        "column_edges": column_edges,
        "runs": runs,
        "people": [{"name": name, "roles": sorted(roles)} for name, roles in sorted(people.items())],
    }


def path(*, user: Any, source: str, target: str, at: datetime | None = None) -> dict[str, Any]:
    """A shortest directed path between two nodes (either direction), with its edges described."""
    hidden = hidden_assets(user)
    with graphs_at(at) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        _start(source, graphs, is_hidden)
        _start(target, graphs, is_hidden)
        if source.startswith("column:") != target.startswith("column:"):
            raise ValueError("a path joins two columns, or two of asset/job/model_version")
        graph = graphs.columns if source.startswith("column:") else graphs.assets
        found = _shortest(graph, source, target, is_hidden) or _shortest(graph, target, source, is_hidden)
    if not found:
        return {"from": source, "to": target, "found": False, "nodes": [], "edges": []}
    nodes, edges = found
    sub = Subgraph(roots=[nodes[0]], nodes={n: i for i, n in enumerate(nodes)}, edges=edges, at=at)
    described = describe(sub, user=user)
    order = {n: i for i, n in enumerate(nodes)}
    described["nodes"].sort(key=lambda n: order[n["id"]])
    return {
        "from": source,
        "to": target,
        "found": True,
        "direction": "downstream" if nodes[0] == source else "upstream",
        **described,
    }


def _shortest(graph, source: str, target: str, is_hidden):
    if source not in graph or target not in graph:
        return None
    parent: dict[str, tuple[str, int] | None] = {source: None}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        if node == target:
            break
        for nxt, data in graph._succ[node].items():
            if nxt not in parent and not (is_hidden is not None and is_hidden(nxt)):
                parent[nxt] = (node, data["id"])
                queue.append(nxt)
    if target not in parent:
        return None
    nodes, edges, cursor = [target], [], target
    while parent[cursor] is not None:
        prev, edge_id = parent[cursor]
        edges.append((prev, cursor, edge_id))
        nodes.append(prev)
        cursor = prev
    return nodes[::-1], edges[::-1]


def models_depending_on(*, user: Any, entity_type: str, stage: str | None = "production") -> dict[str, Any]:
    """Model versions (in ``stage``; None: any) downstream of data classified as ``entity_type``.

    One traversal from every asset holding a live classification of the type (propagated ones
    included), over asset-level edges; anonymization edges end the dependency. Each model version
    comes with the classified assets it depends on.
    """
    hidden = hidden_assets(user)
    classified = Classification.objects.filter(entity_type=entity_type, state__in=LIVE)
    asset_ids = sorted(set(classified.values_list("column__asset_id", flat=True)) - (hidden or frozenset()))
    found: dict[str, set[str]] = {}
    with graphs_at(None) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        succ = graphs.assets._succ
        for asset_id in asset_ids:
            start = f"asset:{asset_id}"
            if start not in succ:
                continue
            seen = {start}
            queue = deque([start])
            while queue:
                for nxt, data in succ[queue.popleft()].items():
                    if nxt in seen or data["kind"] == EdgeKind.ANONYMIZED or (is_hidden is not None and is_hidden(nxt)):
                        continue
                    seen.add(nxt)
                    if nxt.startswith("model_version:"):
                        found.setdefault(nxt, set()).add(start)
                    queue.append(nxt)
    versions = ModelVersion.objects.filter(pk__in=[int(k.split(":")[1]) for k in found]).select_related("model")
    if stage:
        versions = versions.filter(stage=stage)
    versions = versions.prefetch_related("training_datasets", "evaluation_datasets")
    names = dict(DataAsset.objects.filter(pk__in=asset_ids).values_list("pk", "qualified_name"))
    classified_assets = set(asset_ids)
    answer = []
    for mv in versions.order_by("model__name", "version"):
        direct = sorted(a.pk for a in [*mv.training_datasets.all(), *mv.evaluation_datasets.all()] if a.pk in classified_assets)
        answer.append(
            {
                "id": f"model_version:{mv.pk}",
                "pk": mv.pk,
                "name": str(mv),
                "stage": mv.stage,
                # True: its own training/evaluation data holds the type (column lineage and propagation
                # say so); False: only an upstream table does, and the columns may have been masked.
                "direct": bool(direct),
                "depends_on": [{"id": a, "name": names.get(int(a[6:]), "")} for a in sorted(found[f"model_version:{mv.pk}"])],
            }
        )
    return {"entity_type": entity_type, "stage": stage, "model_versions": answer}


def why_pii(*, user: Any, column_id: int) -> dict[str, Any]:
    """Each live classification of a column and why it holds: a propagated one with its path."""
    column = Column.objects.restrict(user, VIEW).select_related("asset").filter(pk=column_id).first()
    if column is None:
        raise NodeNotFound(f"no column {column_id}")
    hidden = hidden_assets(user)
    answers = []
    for c in column.classifications.order_by("entity_type", "source"):
        item = {
            "id": c.pk,
            "entity_type": c.entity_type,
            "source": c.source,
            "state": c.state,
            "confidence": c.confidence,
        }
        if c.source == ClassificationSource.PROPAGATED:
            path_ids = [int(x) for x in c.evidence.get("path", [])]
            cols = {x.pk: x for x in Column.objects.filter(pk__in=path_ids).select_related("asset")}
            edges = {e.pk: e for e in Edge.objects.filter(pk__in=c.evidence.get("edges", [])).select_related("run", "job")}
            steps = []
            for pk in path_ids:
                col = cols.get(pk)
                visible = col is not None and (hidden is None or col.asset_id not in hidden)
                steps.append(
                    {"column": f"column:{pk}", "name": f"{col.asset.qualified_name}.{col.name}" if visible else "(restricted)"}
                )
            item["origin"] = c.evidence.get("origin", {})
            item["path"] = steps
            item["edges"] = [_edge_dict(edges[e]) for e in c.evidence.get("edges", []) if e in edges]
        answers.append(item)
    return {"column": f"column:{column.pk}", "name": f"{column.asset.qualified_name}.{column.name}", "classifications": answers}


def edge_visible(edge: Edge, *, user: Any) -> bool:
    hidden = hidden_assets(user)
    if not hidden:
        return True
    for node_type, node_id in ((edge.src_type, edge.src_id), (edge.dst_type, edge.dst_id)):
        if node_type == NodeType.ASSET and node_id in hidden:
            return False
        if node_type == NodeType.COLUMN and Column.objects.filter(pk=node_id, asset_id__in=hidden).exists():
            return False
    return True


# --- Marquez-compatible read --------------------------------------------------------------------


def _split_marquez(rest: str, namespaces: set[str]) -> tuple[str, str] | None:
    best = None
    for i, ch in enumerate(rest):
        if ch == ":" and rest[:i] in namespaces:
            best = (rest[:i], rest[i + 1 :])
    return best


def marquez_lineage(*, user: Any, node_id: str, depth: int = 20, latest_runs=None) -> dict[str, Any]:
    """Marquez's ``GET /api/v1/lineage?nodeId=...`` answer: ``{"graph": [node, ...]}`` with DATASET and
    JOB nodes (``id``, ``type``, ``data``, ``inEdges``, ``outEdges``), sorted by id.

    ``latest_runs``: optional ``(job ids) -> {job id: run data}`` filling each job's ``latestRun``."""
    kind, _, rest = node_id.partition(":")
    if kind not in ("dataset", "job") or not rest:
        raise ValueError("nodeId must be dataset:<namespace>:<name> or job:<namespace>:<name>")
    candidates = {rest[:i] for i, ch in enumerate(rest) if ch == ":"}
    if kind == "dataset":
        split = _split_marquez(rest, set(DataSource.objects.filter(namespace__in=candidates).values_list("namespace", flat=True)))
        asset = DataAsset.objects.filter(source__namespace=split[0], qualified_name=split[1]).first() if split else None
        if asset is None:
            raise NodeNotFound("no such dataset")
        start = f"asset:{asset.pk}"
    else:
        split = _split_marquez(rest, set(Job.objects.filter(namespace__in=candidates).values_list("namespace", flat=True)))
        job = Job.objects.filter(namespace=split[0], name=split[1]).first() if split else None
        if job is None:
            raise NodeNotFound("no such job")
        start = f"job:{job.pk}"
    hidden = hidden_assets(user)
    with graphs_at(None) as graphs:
        is_hidden = _hidden_pred(hidden, graphs)
        _start(start, graphs, is_hidden)
        sub = Subgraph(roots=[start])
        skip = lambda node, data: node.startswith("model_version:")  # noqa: E731 - Marquez knows datasets and jobs only
        _bfs(graphs.assets, [start], depth, reverse=True, is_hidden=is_hidden, skip=skip, out=sub)
        _bfs(graphs.assets, [start], depth, reverse=False, is_hidden=is_hidden, skip=skip, out=sub)
    asset_ids = [int(k[6:]) for k in sub.nodes if k.startswith("asset:")]
    job_ids = [int(k[4:]) for k in sub.nodes if k.startswith("job:")]
    assets = {a.pk: a for a in DataAsset.objects.filter(pk__in=asset_ids).select_related("source")}
    fields, tags = _fields_and_tags(asset_ids)
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=job_ids).select_related("parent")}
    ids = {f"asset:{pk}": f"dataset:{a.source.namespace}:{a.qualified_name}" for pk, a in assets.items()}
    ids |= {f"job:{pk}": f"job:{j.namespace}:{j.name}" for pk, j in jobs.items()}
    in_edges: dict[str, set] = {k: set() for k in ids}
    out_edges: dict[str, set] = {k: set() for k in ids}
    for u, v, _edge_id in sub.edges:
        if u in ids and v in ids:
            out_edges[u].add((ids[u], ids[v]))
            in_edges[v].add((ids[u], ids[v]))
    job_io: dict[str, dict[str, list]] = {k: {"inputs": [], "outputs": []} for k in ids if k.startswith("job:")}
    for u, v, _edge_id in sub.edges:
        if v in job_io and u in ids:
            job_io[v]["inputs"].append(_dataset_id(assets[int(u[6:])]))
        if u in job_io and v in ids:
            job_io[u]["outputs"].append(_dataset_id(assets[int(v[6:])]))
    latest = latest_runs(list(jobs)) if latest_runs is not None and jobs else {}
    graph = []
    for key, marquez_id in ids.items():
        if key.startswith("asset:"):
            pk = int(key[6:])
            node_type, data = "DATASET", _marquez_dataset(assets[pk], fields=fields.get(pk, []), tags=tags.get(pk, []))
        else:
            node_type, data = "JOB", _marquez_job(jobs[int(key[4:])], job_io[key])
            data["latestRun"] = latest.get(int(key[4:]))
        graph.append(
            {
                "id": marquez_id,
                "type": node_type,
                "data": data,
                "inEdges": [{"origin": o, "destination": d} for o, d in sorted(in_edges[key])],
                "outEdges": [{"origin": o, "destination": d} for o, d in sorted(out_edges[key])],
            }
        )
    graph.sort(key=lambda n: n["id"])
    return {"graph": graph}


def _dataset_id(asset: DataAsset) -> dict[str, str]:
    return {"namespace": asset.source.namespace, "name": asset.qualified_name}


def _fields_and_tags(asset_ids: list[int]) -> tuple[dict[int, list[dict]], dict[int, list[str]]]:
    """Marquez ``fields`` and ``tags`` of many assets with three value queries (no model rows:
    building related managers per column was most of a lineage answer's time)."""
    column_tags: dict[int, list[str]] = {}
    through = Column.tags.through
    for column_id, name in through.objects.filter(column__asset_id__in=asset_ids).values_list("column_id", "tag__name"):
        column_tags.setdefault(column_id, []).append(name)
    fields: dict[int, list[dict]] = {}
    columns = Column.objects.filter(asset_id__in=asset_ids).order_by("asset_id", "position", "name")
    for pk, asset_id, name, data_type, description in columns.values_list("pk", "asset_id", "name", "data_type", "description"):
        fields.setdefault(asset_id, []).append(
            {"name": name, "type": data_type or None, "tags": sorted(column_tags.get(pk, [])), "description": description or None}
        )
    tags: dict[int, list[str]] = {}
    for asset_id, name in DataAsset.tags.through.objects.filter(dataasset_id__in=asset_ids).values_list(
        "dataasset_id", "tag__name"
    ):
        tags.setdefault(asset_id, []).append(name)
    return fields, {k: sorted(v) for k, v in tags.items()}


def _marquez_dataset(asset: DataAsset, *, fields: list[dict] | None = None, tags: list[str] | None = None) -> dict[str, Any]:
    """Marquez's Dataset shape; ``fields``/``tags`` precomputed (:func:`_fields_and_tags`), else
    read from the asset's (prefetched) columns and tags."""
    if fields is None:
        fields = [
            {
                "name": c.name,
                "type": c.data_type or None,
                "tags": sorted(t.name for t in c.tags.all()),
                "description": c.description or None,
            }
            for c in asset.columns.all()
        ]
    if tags is None:
        tags = sorted(t.name for t in asset.tags.all())
    return {
        "id": _dataset_id(asset),
        "type": "STREAM" if asset.kind == "stream" else "DB_TABLE",
        "name": asset.qualified_name,
        "physicalName": asset.qualified_name,
        "createdAt": _iso(asset.created_at),
        "updatedAt": _iso(asset.updated_at),
        "namespace": asset.source.namespace,
        "sourceName": asset.source.name,
        "fields": fields,
        "tags": tags,
        "lastModifiedAt": None,
        "description": asset.description or None,
        "lastLifecycleState": None,
    }


def marquez_job_type(job: Job) -> str:
    """Marquez's JobType (BATCH, STREAM, SERVICE) from the jobType facet's ``processingType``
    (OpenLineage says BATCH or STREAMING)."""
    processing = str((job.facets.get("jobType") or {}).get("processingType") or "BATCH").upper()
    return {"STREAMING": "STREAM", "STREAM": "STREAM", "SERVICE": "SERVICE"}.get(processing, "BATCH")


def _marquez_job(job: Job, io: dict[str, list]) -> dict[str, Any]:
    return {
        "id": {"namespace": job.namespace, "name": job.name},
        "type": marquez_job_type(job),
        "name": job.name,
        "simpleName": job.name.rsplit(".", 1)[-1],
        "parentJobName": job.parent.name if job.parent_id else None,
        "parentJobUuid": None,
        "createdAt": _iso(job.created_at),
        "updatedAt": _iso(job.updated_at),
        "namespace": job.namespace,
        "inputs": sorted(io["inputs"], key=lambda d: (d["namespace"], d["name"])),
        "outputs": sorted(io["outputs"], key=lambda d: (d["namespace"], d["name"])),
        "location": (job.facets.get("sourceCodeLocation") or {}).get("url"),
        "description": job.description or None,
        "latestRun": None,
    }


# --- describing a subgraph ----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _edge_dict(e: Edge) -> dict[str, Any]:
    return {
        "pk": e.pk,
        "source": e.src_key,
        "target": e.dst_key,
        "kind": e.kind,
        "transformation_type": e.transformation_type,
        "transformation_subtype": e.transformation_subtype,
        "description": e.description,
        "masking": e.masking,
        "transformations": e.transformations,
        "propagation": e.propagation,
        "stops_propagation": e.stops_propagation,
        "job": f"job:{e.job_id}" if e.job_id else None,
        "run": {"run_id": str(e.run.run_id), "state": e.run.state} if e.run_id else None,
        "last_run": {"run_id": str(e.last_run.run_id), "state": e.last_run.state} if e.last_run_id else None,
        "producer": e.producer,
        "actor": e.actor,
        "valid_from": _iso(e.valid_from),
        "valid_to": _iso(e.valid_to),
        "last_seen_at": _iso(e.last_seen_at),
    }


def describe(sub: Subgraph, *, user: Any, with_edges: bool = True, nodes: bool = True) -> dict[str, Any]:
    """Names and details for a subgraph's nodes and edges (bulk queries, one per type)."""
    by_type: dict[str, list[int]] = {}
    for node_key in sub.nodes:
        node_type, _, raw = node_key.partition(":")
        by_type.setdefault(node_type, []).append(int(raw))
    described: list[dict[str, Any]] = []
    if nodes:
        for asset in DataAsset.objects.filter(pk__in=by_type.get("asset", [])).select_related("source"):
            described.append(
                {
                    "id": f"asset:{asset.pk}",
                    "pk": asset.pk,
                    "type": "asset",
                    "name": asset.qualified_name,
                    "namespace": asset.source.namespace,
                    "kind": asset.kind,
                    "sensitivity": asset.sensitivity,
                    "status": asset.status,
                }
            )
        for column in Column.objects.filter(pk__in=by_type.get("column", [])).select_related("asset"):
            described.append(
                {
                    "id": f"column:{column.pk}",
                    "pk": column.pk,
                    "type": "column",
                    "name": column.name,
                    "asset": f"asset:{column.asset_id}",
                    "asset_name": column.asset.qualified_name,
                    "data_type": column.data_type,
                }
            )
        for job in Job.objects.filter(pk__in=by_type.get("job", [])):
            described.append({"id": f"job:{job.pk}", "pk": job.pk, "type": "job", "name": job.name, "namespace": job.namespace})
        for mv in ModelVersion.objects.filter(pk__in=by_type.get("model_version", [])).select_related("model"):
            described.append(
                {"id": f"model_version:{mv.pk}", "pk": mv.pk, "type": "model_version", "name": str(mv), "stage": mv.stage}
            )
        for item in described:
            item["depth"] = sub.nodes.get(item["id"])
        described.sort(key=lambda n: (n["depth"] if n["depth"] is not None else 0, n["id"]))
    edges: list[dict[str, Any]] = []
    if with_edges:
        ids = sorted({edge_id for _, _, edge_id in sub.edges})
        edges = [_edge_dict(e) for e in Edge.objects.filter(pk__in=ids).select_related("run", "last_run")]
    return {
        "roots": sub.roots,
        "at": _iso(sub.at),
        "nodes": described,
        "edges": edges,
    }


def model_owner_names(model_ids: list[int]) -> dict[int, str]:
    return dict(MLModel.objects.filter(pk__in=model_ids, owner__isnull=False).values_list("pk", "owner__username"))
