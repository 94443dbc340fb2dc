"""Steward pages: an asset's and a model version's lineage drawn as a graph (inline SVG)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from lineage import selectors
from lineage.layout import layout


def _urls(described: dict) -> dict[str, str]:
    urls = {}
    for node in described["nodes"]:
        if node["type"] == "asset":
            urls[node["id"]] = reverse("lineage:asset", args=[node["pk"]])
        elif node["type"] == "column":
            urls[node["id"]] = reverse("lineage:asset", args=[int(node["asset"][6:])]) + "?level=column"
        elif node["type"] == "model_version":
            urls[node["id"]] = reverse("lineage:model_version", args=[node["pk"]])
    return urls


def _int(request, name: str, default: int, maximum: int) -> int:
    try:
        return max(0, min(maximum, int(request.GET.get(name, default))))
    except ValueError:
        return default


@login_required
def asset_lineage(request, pk: int):
    level = "column" if request.GET.get("level") == "column" else "asset"
    depth = _int(request, "depth", 3, 10)
    try:
        sub = selectors.lineage(user=request.user, node=f"asset:{pk}", direction="both", depth=depth, level=level)
        impact = selectors.impact(user=request.user, node=f"asset:{pk}")
    except (selectors.NodeNotFound, PermissionDenied):
        raise Http404 from None
    described = selectors.describe(sub, user=request.user)
    root = selectors.describe(selectors.Subgraph(roots=[], nodes={f"asset:{pk}": 0}), user=request.user, with_edges=False)
    return render(
        request,
        "lineage/graph.html",
        {
            "title": root["nodes"][0]["name"] if root["nodes"] else f"asset {pk}",
            "asset_pk": pk,
            "level": level,
            "depth": depth,
            "drawing": layout(described, _urls(described)),
            "edges": described["edges"],
            "impact": impact,
        },
    )


@login_required
def model_version_lineage(request, pk: int):
    try:
        answer = selectors.model_provenance(user=request.user, model_version_id=pk)
    except (selectors.NodeNotFound, PermissionDenied):
        raise Http404 from None
    described = {"roots": [answer["model_version"]["id"]], "nodes": answer["nodes"], "edges": answer["edges"]}
    return render(
        request,
        "lineage/graph.html",
        {
            "title": answer["model_version"]["name"],
            "model_version": answer["model_version"],
            "drawing": layout(described, _urls(described)),
            "edges": answer["edges"],
            "runs": answer["runs"],
            "people": answer["people"],
            "sources": answer["sources"],
        },
    )
