"""Section ``evidence/ccpa.json``: CCPA/CPRA categories of personal information collected and
how long each is kept."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.snapshot import Snapshot


def ccpa(snap: Snapshot) -> dict[str, Any]:
    """CCPA/CPRA categories of personal information collected (1798.100(a)(1)) and how long each
    is kept (1798.100(a)(3)), from the classifications and the assets' retention."""
    pack = snap.packs.get("ccpa")
    categories = []
    for cat in snap.categories.get("ccpa", []):
        holders = []
        for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
            found = snap.entity_types.get(asset_id, set()) & set(cat["entity_types"])
            if found and snap.in_scope(asset_id):
                holders.append(
                    {
                        "asset_id": asset_id,
                        "asset": snap.asset_name(asset_id),
                        "entity_types": sorted(found),
                        "retention_days": snap.assets[asset_id]["retention_days"],
                        "retention_policies": [p["name"] for p in snap.policies_for(asset_id, "retention")],
                        "sale_share_tags": sorted(
                            snap.tags.get(asset_id, set()) & {"ccpa-sold", "ccpa-shared", "ccpa-not-sold-or-shared"}
                        ),
                    }
                )
        if holders:
            days = [h["retention_days"] for h in holders if h["retention_days"] is not None]
            categories.append(
                {
                    **{k: cat[k] for k in ("code", "name", "citation", "sensitive")},
                    "collected": True,
                    "assets": holders,
                    "retention_days_max": max(days) if days else None,
                    "assets_without_retention": sum(1 for h in holders if h["retention_days"] is None),
                }
            )
    return {
        "view": snap.scope.view_label(),
        "pack": {"code": "ccpa", "version": pack["version"]} if pack else None,
        "categories": categories,
        "not_collected": [c["code"] for c in snap.categories.get("ccpa", []) if c["code"] not in {x["code"] for x in categories}],
    }
