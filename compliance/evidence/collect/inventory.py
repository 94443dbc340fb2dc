"""Section ``evidence/inventory.json`` (and ``inventory.csv``): every asset and column holding
personal data as of the date."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.snapshot import Snapshot, iso


def inventory(snap: Snapshot) -> dict[str, Any]:
    """Every asset and column holding PII as of the date: entity types, where each classification
    came from and its state, sensitivity, and the scan that found it."""
    assets = []
    for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
        if not snap.entity_types.get(asset_id) or not snap.in_scope(asset_id):
            continue
        asset = snap.assets[asset_id]
        columns = []
        for col_id in sorted(
            snap.pii_columns.get(asset_id, []), key=lambda c: (snap.columns[c]["position"], snap.columns[c]["name"])
        ):
            col = snap.columns[col_id]
            classes = []
            for c in sorted(snap.column_classes[col_id], key=lambda c: (c["entity_type"], c["source"])):
                scan_id = (c["evidence"] or {}).get("scan_run") if isinstance(c["evidence"], dict) else None
                scan = snap.scan_runs.get(scan_id) if scan_id else None
                classes.append(
                    {
                        "entity_type": c["entity_type"],
                        "source": c["source"],
                        "state": c["state"],
                        "sensitivity": c["sensitivity"],
                        "confidence": round(float(c["confidence"]), 4),
                        "scan": {"id": scan_id, "status": scan["status"], "finished_at": iso(scan["finished_at"])}
                        if scan
                        else None,
                        "propagated_from": (c["evidence"] or {}).get("origin") if c["source"] == "propagated" else None,
                        "since": iso(c["_changed_at"]),
                    }
                )
            columns.append({"id": col_id, "name": col["name"], "data_type": col["data_type"], "classifications": classes})
        assets.append(
            {
                "id": asset_id,
                "name": snap.asset_name(asset_id),
                "kind": asset["kind"],
                "status": asset["status"],
                "sensitivity": asset["sensitivity"],
                "domain": snap.domains.get(asset["domain_id"], {}).get("name") if asset["domain_id"] else None,
                "owners": sorted(snap.people.get(asset_id, [])),
                "entity_types": sorted(snap.entity_types[asset_id]),
                "special_categories": snap.categories_of(snap.entity_types[asset_id], sensitive_only=True),
                "special_category_names": snap.labels(snap.categories_of(snap.entity_types[asset_id], sensitive_only=True)),
                "columns": columns,
            }
        )
    return {"view": snap.scope.view_label(), "assets": assets}


def inventory_rows(inv: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for asset in inv["assets"]:
        for column in asset["columns"]:
            for c in column["classifications"]:
                rows.append(
                    {
                        "asset_id": asset["id"],
                        "asset": asset["name"],
                        "asset_sensitivity": asset["sensitivity"],
                        "column": column["name"],
                        "entity_type": c["entity_type"],
                        "classification_source": c["source"],
                        "state": c["state"],
                        "sensitivity": c["sensitivity"],
                        "confidence": c["confidence"],
                        "scan_id": (c["scan"] or {}).get("id", ""),
                    }
                )
    return rows
