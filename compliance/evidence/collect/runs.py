"""Section ``evidence/runs.json``: retention, anonymization and scan runs of the period with the
ledger events that recorded them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

from compliance.evidence.collect.citations import (
    RUN_ACTIONS,
    cite,
    keep_asset,
    range_events,
)
from compliance.evidence.collect.claims import verification_of
from compliance.evidence.collect.snapshot import Snapshot, iso
from compliance.policies.models import (
    AnonymizationRun,
    RetentionRun,
)
from compliance.scanning.models import ScanRun


def runs(snap: Snapshot) -> dict[str, Any]:
    """Retention, anonymization and scan runs started in the period, with what they did and the
    ledger events that recorded them."""
    scope = snap.scope
    cites: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in range_events(scope, RUN_ACTIONS):
        cites[(event["target_type"], event["target_id"])].append(event)
    window = Q(started_at__lte=scope.at) & (Q(started_at__gte=scope.period_from) if scope.period_from else Q())
    out: list[dict] = []
    for run in RetentionRun.objects.filter(window).order_by("started_at", "id"):
        events = cites.get(("policies.retentionrun", str(run.pk)), [])
        actions = cites_for_retention(cites, run.pk)
        items = [i for i in (run.report or {}).get("items", []) if keep_asset(snap, i.get("asset_id"))]
        out.append(
            {
                "type": "retention",
                "id": run.pk,
                "dry_run": run.dry_run,
                "status": run.status,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
                "summary": (run.report or {}).get("summary", {}),
                "items": items,
                "events": [cite(e) for e in events + actions],
            }
        )
    for run in AnonymizationRun.objects.filter(window).order_by("started_at", "id"):
        if not (keep_asset(snap, run.source_asset_id) or keep_asset(snap, run.target_asset_id)):
            continue
        report = run.report or {}
        verification = verification_of(report)
        out.append(
            {
                "type": "anonymization",
                "id": run.pk,
                "profile": run.profile,
                "status": run.status,
                "source_asset_id": run.source_asset_id,
                "source_asset": snap.asset_name(run.source_asset_id) if run.source_asset_id else None,
                "target_asset_id": run.target_asset_id,
                "target_asset": snap.asset_name(run.target_asset_id) if run.target_asset_id else None,
                "rows": run.rows,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
                "report": {
                    "passed": report.get("passed"),
                    "identifier_check": report.get("identifier_check"),
                    "k_anonymity": {
                        k: v for k, v in (report.get("k_anonymity") or {}).items() if k in ("k", "quasi_identifiers", "rows")
                    },
                    "columns": [
                        {"name": c.get("name"), "operator": c.get("operator"), "entity_type": c.get("entity_type")}
                        for c in report.get("columns", [])
                    ],
                    # What "passed" rests on: the checks the run says it ran (claims.verification_of).
                    "verification": {
                        "checks": [c.as_dict() for c in verification.checks],
                        "skipped": verification.skipped,
                    },
                },
                "events": [cite(e) for e in cites.get(("policies.anonymizationrun", str(run.pk)), [])],
            }
        )
    scan_window = Q(created_at__lte=scope.at) & (Q(created_at__gte=scope.period_from) if scope.period_from else Q())
    for run in ScanRun.objects.filter(scan_window).order_by("created_at", "id"):
        if run.asset_id and not keep_asset(snap, run.asset_id):
            continue
        if not run.asset_id and scope.filtered:
            continue
        out.append(
            {
                "type": "scan",
                "id": run.pk,
                "status": run.status,
                "asset_id": run.asset_id,
                "asset": snap.asset_name(run.asset_id) if run.asset_id else None,
                "rows_scanned": run.rows_scanned,
                "rows_sampled": run.rows_sampled,
                "classifications_written": run.classifications_written,
                "started_at": iso(run.started_at or run.created_at),
                "finished_at": iso(run.finished_at),
                "events": [cite(e) for e in cites.get(("scanning.scanrun", str(run.pk)), [])],
            }
        )
    return {"view": scope.view_label(), "runs": out}


def cites_for_retention(cites: dict, run_id: int) -> list[dict]:
    """Per-action retention events name the asset as target and the run in their details."""
    found = []
    for (target_type, _target_id), events in cites.items():
        if target_type == "policies.retentionrun":
            continue
        found.extend(e for e in events if (e.get("details") or {}).get("retention_run_id") == run_id)
    return found
