"""What the lineage app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from core import pages
from lineage import selectors

PANEL_DEPTH = 4  # asset -> job -> asset -> job -> model version: the next tables and the models fed


def asset_lineage_context(request, asset) -> dict[str, Any] | None:
    """Upstream and downstream of the asset within :data:`PANEL_DEPTH` edges (assets, jobs, model
    versions), read with the scoped lineage selectors; None when the user may not see the asset."""
    node = f"asset:{asset.pk}"
    try:
        sides = {}
        for direction in ("upstream", "downstream"):
            sub = selectors.lineage(user=request.user, node=node, direction=direction, depth=PANEL_DEPTH)
            described = selectors.describe(sub, user=request.user, with_edges=False)
            items = [n for n in described["nodes"] if n["id"] != node]
            for item in items:
                item["hops"] = sub.nodes.get(item["id"])
                if item["type"] == "model_version":
                    item["url"] = reverse("lineage:model_version", args=[item["pk"]])
                elif item["type"] == "asset":
                    item["url"] = reverse("lineage:asset", args=[item["pk"]])
            sides[direction] = [i for i in items if i["type"] != "job"]
            sides[direction + "_jobs"] = [i for i in items if i["type"] == "job"]
    except (selectors.NodeNotFound, PermissionDenied):
        return None
    return {
        **sides,
        "explorer_url": reverse("lineage:asset", args=[asset.pk]),
        "column_url": reverse("lineage:asset", args=[asset.pk]) + "?level=column",
        "depth": PANEL_DEPTH,
    }


def model_version_lineage_context(request, version) -> dict[str, Any] | None:
    """The data a model version came from (every asset upstream, nearest first, with the jobs on the
    way), read with the scoped lineage selectors; None when there is no lineage to show."""
    node = f"model_version:{version.pk}"
    try:
        sub = selectors.lineage(user=request.user, node=node, direction="upstream", depth=None)
    except (selectors.NodeNotFound, PermissionDenied):
        return None
    described = selectors.describe(sub, user=request.user, with_edges=False)
    assets = [n for n in described["nodes"] if n["type"] == "asset"]
    for item in assets:
        item["hops"] = sub.nodes.get(item["id"])
        item["url"] = reverse("lineage:asset", args=[item["pk"]])
    return {
        "assets": assets,
        "jobs": [n for n in described["nodes"] if n["type"] == "job"],
        "explorer_url": reverse("lineage:model_version", args=[version.pk]),
    }


pages.nav_item("lineage:explorer", "Lineage", order=30)
pages.panel(
    "model_version",
    "lineage",
    label="Data lineage",
    template="lineage/panels/model_version_lineage.html",
    context=model_version_lineage_context,
    order=30,
    permission="view",
)
pages.panel(
    "asset",
    "lineage",
    label="Lineage",
    template="lineage/panels/asset_lineage.html",
    context=asset_lineage_context,
    order=40,
    permission="view",
)
