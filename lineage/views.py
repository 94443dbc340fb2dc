"""Steward pages: the lineage explorer (``lineage:explorer``) and its JSON graph endpoint.

The server answers *which* nodes and edges a user may see, through the same scoped selectors as
the API (``lineage.selectors.lineage`` / ``describe`` / ``impact`` / ``model_provenance``); the
browser lays them out with elkjs (layered, orthogonal edge routing) and draws SVG
(``static/lineage/explorer.js``). ``lineage:asset`` and ``lineage:model_version`` are the
explorer centred on that node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from catalog import selectors as catalog_selectors
from lineage import selectors
from lineage.graph import split_key
from lineage.openlineage import EventInvalid, parse_time

LEVELS = ("asset", "column")
START_TYPES = ("asset", "column", "job", "model_version")
MAX_DEPTH = 10
MAX_NODES = 400  # per answer: more is unreadable and slow to lay out; the rest loads hop by hop
FANOUT = 15  # neighbours drawn per node and direction; the rest behind an "N more" expander
MAX_LIMIT = 100  # largest page of neighbours one request may ask for
LIVE = ("suggested", "confirmed")  # catalog.choices.ClassificationState values that hold


class BadParameter(ValueError):
    """A query parameter the explorer cannot use (shown to the user, never echoing the value)."""


@dataclass(frozen=True)
class GraphQuery:
    """What to draw: ``node`` with ``upstream``/``downstream`` edges each way, at ``level``, as of ``at``."""

    node: str
    level: str = "asset"
    upstream: int = 3
    downstream: int = 3
    at: datetime | None = None
    offset: int = 0  # the start node's neighbours from this position (sorted), for "N more"
    limit: int | None = None  # neighbours per node and direction (default FANOUT)


# --- parameters ---------------------------------------------------------------------------------


def _depth(raw: str | None, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter("depth must be a whole number") from None
    if not 0 <= value <= MAX_DEPTH:
        raise BadParameter(f"depth must be between 0 and {MAX_DEPTH}")
    return value


def parse_at(raw: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (the graph at the end of that day, UTC) or an RFC 3339 date-time."""
    if not raw:
        return None
    if len(raw) == 10:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise BadParameter("as-of date must be YYYY-MM-DD or an RFC 3339 date-time") from None
        return datetime.combine(day, time.max, tzinfo=UTC)
    try:
        return parse_time(raw, "at")
    except EventInvalid:
        raise BadParameter("as-of date must be YYYY-MM-DD or an RFC 3339 date-time") from None


def _node(raw: str | None) -> str:
    try:
        node_type, node_id = split_key(raw or "")
    except ValueError:
        raise BadParameter("node must look like asset:12, column:40, job:3 or model_version:2") from None
    if node_type not in START_TYPES:
        raise BadParameter("node must look like asset:12, column:40, job:3 or model_version:2")
    return f"{node_type}:{node_id}"


def _count(raw: str | None, name: str, default: int | None, low: int, high: int) -> int | None:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}")
    return value


def _level(raw: str | None) -> str:
    if raw in (None, ""):
        return "asset"
    if raw not in LEVELS:
        raise BadParameter("level must be asset or column")
    return raw


def query_from(params, *, node: str | None = None, default_depth: int = 3) -> GraphQuery:
    """A :class:`GraphQuery` from request parameters: ``node``, ``level``, ``depth`` (both ways) or
    ``direction`` + ``depth`` (one way), ``at``, ``offset`` and ``limit`` (neighbours per node)."""
    depth = _depth(params.get("depth"), default_depth)
    direction = params.get("direction") or "both"
    if direction not in ("both", "upstream", "downstream"):
        raise BadParameter("direction must be upstream, downstream or both")
    return GraphQuery(
        node=_node(node if node is not None else params.get("node")),
        level=_level(params.get("level")),
        upstream=depth if direction in ("both", "upstream") else 0,
        downstream=depth if direction in ("both", "downstream") else 0,
        at=parse_at(params.get("at")),
        offset=_count(params.get("offset"), "offset", 0, 0, 1_000_000) or 0,
        limit=_count(params.get("limit"), "limit", None, 1, MAX_LIMIT),
    )


# --- the graph answer ---------------------------------------------------------------------------


def _safe_reverse(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # another helper's page, not landed yet
        return ""


def _links(node: dict[str, Any], level: str) -> dict[str, str]:
    explorer = reverse("lineage:explorer")
    links = {"explore": f"{explorer}?node={node['id']}&level={level}"}
    if node["type"] == "asset":
        links["page"] = _safe_reverse("catalog:asset", node["pk"])
    elif node["type"] == "column":
        links["page"] = _safe_reverse("catalog:asset", int(node["asset"].partition(":")[2]))
    elif node["type"] == "model_version":
        links["page"] = _safe_reverse("models:version", node["pk"]) or reverse("lineage:model_version", args=[node["pk"]])
    return links


def _pii(user, nodes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """node id -> live PII entity types (suggested or confirmed) of the column, or of the asset's
    columns; read through the catalog's scoped classification list (one query)."""
    column_ids = [n["pk"] for n in nodes if n["type"] == "column"]
    asset_ids = [n["pk"] for n in nodes if n["type"] == "asset"]
    if not column_ids and not asset_ids:
        return {}
    found: dict[str, set[str]] = {}
    rows = catalog_selectors.classification_list(user=user).filter(state__in=LIVE)
    if column_ids and asset_ids:
        from django.db.models import Q

        rows = rows.filter(Q(column_id__in=column_ids) | Q(column__asset_id__in=asset_ids))
    elif column_ids:
        rows = rows.filter(column_id__in=column_ids)
    else:
        rows = rows.filter(column__asset_id__in=asset_ids)
    wanted_columns, wanted_assets = set(column_ids), set(asset_ids)
    for column_id, asset_id, entity_type in rows.values_list("column_id", "column__asset_id", "entity_type"):
        if column_id in wanted_columns:
            found.setdefault(f"column:{column_id}", set()).add(entity_type)
        if asset_id in wanted_assets:
            found.setdefault(f"asset:{asset_id}", set()).add(entity_type)
    return {k: sorted(v) for k, v in found.items()}


def graph_answer(user, query: GraphQuery) -> dict[str, Any]:
    """The nodes within ``query.upstream`` edges upstream and ``query.downstream`` downstream of the
    node, the edges among them, and for each node whether the walk one hop further found more:
    ``more_upstream`` / ``more_downstream`` true or false where that walk settles it, null where
    this answer does not know (a node reached downstream may have other inputs).

    Raises ``selectors.NodeNotFound`` / ``PermissionDenied`` as the selectors do.
    """
    keep: dict[str, int] = {}
    flags: dict[str, dict[str, bool | None]] = {}
    walked: dict[str, dict[str, int]] = {}  # flag -> node -> distance in that walk
    edges: dict[int, tuple[str, str, int]] = {}
    roots: list[str] = []
    walks = [(d, n) for d, n in (("upstream", query.upstream), ("downstream", query.downstream)) if n > 0]
    if not walks:  # neither way asked: the start alone
        sub = selectors.lineage(user=user, node=query.node, direction="both", depth=0, level=query.level, at=query.at)
        roots = sub.roots
        keep.update(dict.fromkeys(roots, 0))
    limit = query.limit or FANOUT
    pages: dict[str, dict[str, int | None]] = {}  # node -> hidden_<direction> / next_<direction>
    for direction, depth in walks:
        # One hop further than drawn, to tell which frontier nodes have more beyond them.
        sub = selectors.lineage(user=user, node=query.node, direction=direction, depth=depth + 1, level=query.level, at=query.at)
        roots = sub.roots
        flag = "more_upstream" if direction == "upstream" else "more_downstream"
        walked[flag] = sub.nodes
        ahead: dict[str, set[str]] = {}
        for u, v, edge_id in sub.edges:
            near, far = (v, u) if direction == "upstream" else (u, v)
            ahead.setdefault(near, set()).add(far)
            edges[edge_id] = (u, v, edge_id)
        kept = _fan_out(sub.roots, sub.nodes, ahead, depth, limit, query.offset, pages, direction)
        for key, dist in kept.items():
            keep[key] = min(keep.get(key, dist), dist)
            if dist < depth:  # its own hop is loaded (what the fan-out left out is counted in hidden_*)
                flags.setdefault(key, {})[flag] = False
            elif any(sub.nodes.get(far) == depth + 1 for far in ahead.get(key, ())):
                flags.setdefault(key, {})[flag] = True
            else:
                flags.setdefault(key, {}).setdefault(flag, False)
    truncated = None
    if len(keep) > MAX_NODES:
        # Nearest first; what lies beyond the cut is unknown again, so its nodes keep their "+".
        order = sorted(keep, key=lambda k: (keep[k], k))
        cut_level = keep[order[MAX_NODES]]
        truncated = {"limit": MAX_NODES, "found": len(keep)}
        keep = {k: keep[k] for k in order[:MAX_NODES]}
        for flag, dists in walked.items():
            for key in keep:
                if dists.get(key, cut_level) >= cut_level - 1:
                    flags.setdefault(key, {})[flag] = None
    kept_edges = [e for e in edges.values() if e[0] in keep and e[1] in keep]
    described = selectors.describe(selectors.Subgraph(roots=roots, nodes=keep, edges=kept_edges, at=query.at), user=user)
    pii = _pii(user, described["nodes"])
    nodes = []
    for node in described["nodes"]:
        node = dict(node)
        node["pii"] = pii.get(node["id"], [])
        node["more_upstream"] = flags.get(node["id"], {}).get("more_upstream")
        node["more_downstream"] = flags.get(node["id"], {}).get("more_downstream")
        for key in ("hidden_upstream", "next_upstream", "hidden_downstream", "next_downstream"):
            node[key] = pages.get(node["id"], {}).get(key)
        node["links"] = _links(node, query.level)
        nodes.append(node)
    types = {n["id"]: n["type"] for n in nodes}
    flows = _column_flows(user, described["edges"], query.at) if query.level == "asset" else {}
    out_edges = []
    for edge in described["edges"]:
        # Personal data flows along the edge: its source holds PII, or a job writes an output that does.
        carries = bool(pii.get(edge["source"])) or (types.get(edge["source"]) == "job" and bool(pii.get(edge["target"])))
        out_edges.append({**edge, "pii": carries, "column_flows": flows.get(edge["pk"])})
    return {
        "node": query.node,
        "roots": described["roots"],
        "level": query.level,
        "at": described["at"],
        "upstream": query.upstream,
        "downstream": query.downstream,
        "nodes": nodes,
        "edges": out_edges,
        "truncated": truncated,
    }


def _by_id(key: str) -> tuple[str, int]:
    """``"job:10"`` -> ``("job", 10)``: neighbours page in id order (registration order)."""
    node_type, _, raw = key.partition(":")
    return node_type, int(raw) if raw.isdigit() else 0


def _fan_out(
    roots: list[str],
    dist: dict[str, int],
    ahead: dict[str, set[str]],
    depth: int,
    limit: int,
    offset: int,
    pages: dict[str, dict[str, int | None]],
    direction: str,
) -> dict[str, int]:
    """The nodes to draw of one walk: from each drawn node at distance d < ``depth``, its first
    ``limit`` neighbours at distance d + 1 (by type and id; the start node's from ``offset``), so a
    hub never floods the drawing. Records in ``pages`` how many of each node's neighbours that way
    are left out (``hidden_<direction>``) and the offset of the next page (``next_<direction>``)."""
    kept = {root: 0 for root in roots if dist.get(root) == 0}
    frontier = sorted(kept)
    windows: dict[str, tuple[int, list[str]]] = {}
    for level in range(depth):
        new: list[str] = []
        for near in frontier:
            candidates = sorted((far for far in ahead.get(near, ()) if dist.get(far) == level + 1), key=_by_id)
            start = offset if level == 0 else 0
            window = candidates[start : start + limit]
            for far in window:
                if far not in kept:
                    kept[far] = level + 1
                    new.append(far)
            windows[near] = (start + len(window), candidates)
        frontier = sorted(new)
    for near, (end, candidates) in windows.items():
        hidden = sum(1 for far in candidates[end:] if far not in kept)
        pages.setdefault(near, {}).update({f"hidden_{direction}": hidden, f"next_{direction}": end if hidden else None})
    return kept


def _flow_label(row: tuple) -> list[str]:
    transformation_type, subtype, masking, transformations = row
    if isinstance(transformations, list) and transformations:
        return [
            "/".join(p for p in (str(t.get("type") or ""), str(t.get("subtype") or "")) if p)
            + (" · masked" if t.get("masking") else "")
            for t in transformations
            if isinstance(t, dict)
        ]
    label = "/".join(p for p in (transformation_type, subtype) if p)
    return [(label or "derived") + (" · masked" if masking else "")]


def _column_flows(user, edges: list[dict[str, Any]], at: datetime | None) -> dict[int, dict[str, Any]]:
    """edge pk -> what the column lineage says flows along an asset-level edge through a job:
    ``{"columns": n, "masked": m, "types": [...]}`` from the job's column derivations (valid at
    ``at``) whose input column belongs to the consumed asset (a ``consumes`` edge) or whose output
    column belongs to the produced asset (``produces``), counting only derivations between columns
    of assets ``user`` may see. One query whatever the number of edges."""
    from django.db.models import OuterRef, Q, Subquery

    from catalog.models import Column
    from lineage.choices import EdgeKind
    from lineage.models import Edge

    wanted = [e for e in edges if e["kind"] in ("consumes", "produces") and e.get("job")]
    if not wanted:
        return {}
    jobs = sorted({int(e["job"].partition(":")[2]) for e in wanted})
    rows = Edge.objects.filter(kind=EdgeKind.DERIVES, job_id__in=jobs, src_type="column", dst_type="column")
    if at is None:
        rows = rows.filter(valid_to__isnull=True)
    else:
        rows = rows.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)

    def asset_of(field: str) -> Subquery:
        return Subquery(Column.objects.filter(pk=OuterRef(field)).values("asset_id")[:1])

    derived = rows.annotate(src_asset=asset_of("src_id"), dst_asset=asset_of("dst_id")).values_list(
        "job_id", "src_asset", "dst_asset", "transformation_type", "transformation_subtype", "masking", "transformations"
    )
    hidden = selectors.hidden_assets(user) or frozenset()
    by_end: dict[tuple[str, int, int], list[tuple]] = {}  # (consumes|produces, job, asset) -> rows
    for job_id, src_asset, dst_asset, *rest in derived:
        if src_asset is None or dst_asset is None or src_asset in hidden or dst_asset in hidden:
            continue
        by_end.setdefault(("consumes", job_id, src_asset), []).append(tuple(rest))
        by_end.setdefault(("produces", job_id, dst_asset), []).append(tuple(rest))
    flows: dict[int, dict[str, Any]] = {}
    for edge in wanted:
        job_id = int(edge["job"].partition(":")[2])
        asset_key = edge["source"] if edge["kind"] == "consumes" else edge["target"]
        if not asset_key.startswith("asset:"):
            continue
        found = by_end.get((edge["kind"], job_id, int(asset_key.partition(":")[2])))
        if not found:
            continue
        types: dict[str, None] = {}
        for row in found:
            for label in _flow_label(row):
                types.setdefault(label, None)
        flows[edge["pk"]] = {"columns": len(found), "masked": sum(1 for r in found if r[2]), "types": sorted(types)[:6]}
    return flows


# --- pages --------------------------------------------------------------------------------------


def _config(query: GraphQuery | None, raw_at: str) -> dict[str, Any]:
    return {
        "graph_url": reverse("lineage:explorer_graph"),
        "level": query.level if query else "asset",
        "at": raw_at,
        "root": query.node if query else None,
    }


def _render_explorer(request, *, node: str | None = None, default_depth: int = 3, extra: dict | None = None):
    context: dict[str, Any] = {"levels": LEVELS, "max_depth": MAX_DEPTH, **(extra or {})}
    raw_at = request.GET.get("at", "")
    query = None
    try:
        if node is not None or request.GET.get("node"):
            query = query_from(request.GET, node=node, default_depth=default_depth)
    except BadParameter as exc:
        context["problem"] = str(exc)
        try:  # say what was wrong, and show the node with the defaults
            query = query_from({}, node=node if node is not None else request.GET.get("node"), default_depth=default_depth)
            raw_at = ""
        except BadParameter:
            query = None
    if query is None:
        text = request.GET.get("q", "").strip()
        if text:
            context["q"] = text
            context["hits"] = list(
                catalog_selectors.asset_list(user=request.user)
                .filter(qualified_name__icontains=text)
                .order_by("qualified_name")[:25]
            )
        context["config"] = _config(None, "")
        return render(request, "lineage/explorer.html", context, status=400 if context.get("problem") else 200)
    try:
        graph = graph_answer(request.user, query)
    except (selectors.NodeNotFound, PermissionDenied):
        raise Http404 from None
    except ValueError:  # e.g. a run, or a column-level start the graph cannot take
        raise Http404 from None
    root = next((n for n in graph["nodes"] if n["id"] == query.node), None)
    if root is None:  # a column-level view of an asset starts from its columns
        root = next(
            iter(
                selectors.describe(selectors.Subgraph(roots=[], nodes={query.node: 0}), user=request.user, with_edges=False)[
                    "nodes"
                ]
            ),
            None,
        )
    context.update(
        {
            "query": query,
            "depth": max(query.upstream, query.downstream),
            "at_value": raw_at,
            "root": root,
            "title": root["name"] if root else query.node,
            "graph": graph,
            "config": _config(query, raw_at),
        }
    )
    return render(request, "lineage/explorer.html", context)


@login_required
@require_GET
def explorer(request):
    """``/lineage/explorer/?node=asset:12&level=asset|column&depth=3&at=2026-01-31``; without a node,
    a search for the asset to start from."""
    return _render_explorer(request)


@login_required
@require_GET
def asset_lineage(request, pk: int):
    """The explorer centred on an asset, with its impact analysis."""
    extra: dict[str, Any] = {}
    try:
        at = parse_at(request.GET.get("at"))
        extra["impact"] = selectors.impact(user=request.user, node=f"asset:{pk}", at=at)
    except (selectors.NodeNotFound, PermissionDenied):
        raise Http404 from None
    except BadParameter:
        pass  # the explorer reports it
    return _render_explorer(request, node=f"asset:{pk}", extra=extra)


@login_required
@require_GET
def model_version_lineage(request, pk: int):
    """The explorer centred on a model version (everything upstream by default), with its runs and people."""
    try:
        at = parse_at(request.GET.get("at"))
    except BadParameter:
        at = None
    try:
        answer = selectors.model_provenance(user=request.user, model_version_id=pk, at=at)
    except (selectors.NodeNotFound, PermissionDenied):
        raise Http404 from None
    extra = {"model_version": answer["model_version"], "runs": answer["runs"], "people": answer["people"]}
    return _render_explorer(request, node=f"model_version:{pk}", default_depth=MAX_DEPTH, extra=extra)


@login_required
@require_GET
def explorer_graph(request):
    """``GET /lineage/explorer/graph.json?node=&direction=upstream|downstream|both&depth=1&level=&at=``:
    :func:`graph_answer` as JSON (404 for a node the user may not see, 400 for a bad parameter)."""
    try:
        query = query_from(request.GET, default_depth=1)
        return JsonResponse(graph_answer(request.user, query))
    except BadParameter as exc:
        return JsonResponse({"error": {"status": 400, "code": "invalid", "message": str(exc)}}, status=400)
    except (selectors.NodeNotFound, PermissionDenied, ValueError):
        return JsonResponse({"error": {"status": 404, "code": "not_found", "message": "no such node"}}, status=404)
