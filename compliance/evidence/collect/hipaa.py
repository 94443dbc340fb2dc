"""Section ``evidence/hipaa_safe_harbor.json``: de-identified datasets and their HIPAA Safe
Harbor status."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.claims import safe_harbor_claim
from compliance.evidence.collect.snapshot import Snapshot
from lineage.choices import EdgeKind


def hipaa_safe_harbor(snap: Snapshot, runs: list[dict]) -> dict[str, Any]:
    """De-identified datasets (targets of anonymization) and their HIPAA Safe Harbor status: the
    profile used, the checks the run's verification ran (``checks``), what Safe Harbor needed
    checked (``required``) and what was not (``not_checked``), k-anonymity, remaining PHI labels.
    ``status`` follows ``claims.safe_harbor_claim``: "meets" only when every requirement was
    checked and found clean."""
    deidentified: dict[int, dict] = {}
    for edge in snap.edges:
        if edge["kind"] == EdgeKind.ANONYMIZED and edge["src_type"] == "asset" and edge["dst_type"] == "asset":
            deidentified.setdefault(edge["dst_id"], {"source_asset_id": edge["src_id"], "runs": []})
    for run in runs:
        if run["type"] == "anonymization" and run.get("target_asset_id"):
            deidentified.setdefault(run["target_asset_id"], {"source_asset_id": run.get("source_asset_id"), "runs": []})[
                "runs"
            ].append(run)
    hipaa_types = {e for cat in snap.categories.get("hipaa", []) for e in cat["entity_types"]}
    datasets = []
    for asset_id, info in sorted(deidentified.items()):
        if not snap.in_scope(asset_id) and asset_id in snap.assets:
            continue
        latest = info["runs"][-1] if info["runs"] else None
        report = (latest or {}).get("report") or {}
        remaining = sorted(snap.entity_types.get(asset_id, set()) & hipaa_types)
        source_types = set(snap.entity_types.get(info["source_asset_id"], set())) if info["source_asset_id"] else set()
        claim = safe_harbor_claim(run=latest, report=report, source_entity_types=source_types, phi_labels_remaining=remaining)
        datasets.append(
            {
                "asset_id": asset_id,
                "asset": snap.asset_name(asset_id),
                "source_asset": snap.asset_name(info["source_asset_id"]) if info["source_asset_id"] else None,
                "profile": (latest or {}).get("profile"),
                "run_id": (latest or {}).get("id"),
                "verification_passed": report.get("passed"),
                "identifier_values_found_in_output": (report.get("identifier_check") or {}).get("values_found_in_output"),
                "k_anonymity": (report.get("k_anonymity") or {}).get("k"),
                "phi_labels_remaining": remaining,
                "status": claim["status"],
                "checks": claim["checked"],
                "required": claim["required"],
                "not_checked": claim["not_checked"],
            }
        )
    return {"view": snap.scope.view_label(), "datasets": datasets}
