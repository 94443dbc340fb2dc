"""What the compliance app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors.

Dashboard: scan coverage, suggestions awaiting review, open findings by regulation and severity,
retention due, evidence exports (with their Run progress). Asset page: "Policies & findings" and
"Sample" (rows as the reader's access decision allows, read on demand through the same service as
``GET /api/v1/assets/{id}/sample``: each read is an audited data access, so it is never done just
because the page was opened).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Q

from accounts.permissions import EXPORT, VIEW
from catalog.choices import AssetStatus
from catalog.models import DataAsset
from compliance.policies import selectors as policy_selectors
from compliance.policies.choices import SEVERITY_RANK, FindingStatus, PolicyKind, Purpose, Regulation
from compliance.policies.models import RetentionRun
from core import pages
from core.choices import RunStatus

pages.nav_item("review:queue", "Review", order=30)

SEVERITIES = sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)
TOP = 5


# --- dashboard -------------------------------------------------------------------------------------


def scan_coverage(request, obj) -> dict[str, Any]:
    """Visible assets (not deleted) with at least one succeeded scan, and their columns."""
    from compliance.scanning import selectors as scan_selectors

    assets = DataAsset.objects.restrict(request.user, VIEW).exclude(status=AssetStatus.DELETED)
    scanned_ids = (
        scan_selectors.scan_list(user=request.user).filter(status=RunStatus.SUCCEEDED, asset__isnull=False).values("asset_id")
    )
    totals = assets.aggregate(assets=Count("pk", distinct=True), scanned=Count("pk", distinct=True, filter=Q(pk__in=scanned_ids)))
    running = scan_selectors.scan_list(user=request.user).filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).count()
    share = totals["scanned"] / totals["assets"] if totals["assets"] else None
    return {**totals, "share": share, "percent": round(100 * share, 1) if share is not None else None, "running": running}


def review_summary(request, obj) -> dict[str, Any]:
    """Open suggestions (the review queue's definition), on how many assets, by source, the oldest:
    from the label aggregate the PII-coverage panel computed for this request (no query of its own)."""
    from catalog.panels import label_counts

    counts = label_counts(request)
    return {
        "open": counts.open,
        "assets": counts.open_assets,
        "oldest": counts.oldest_open,
        "by_source": [(s, n) for s, n in counts.open_by_source.items() if n],
    }


def findings_matrix(request, obj) -> dict[str, Any]:
    rows = (
        policy_selectors.finding_list(user=request.user)
        .filter(status=FindingStatus.OPEN)
        .order_by()
        .values_list("regulation", "severity")
        .annotate(n=Count("pk"))
    )
    matrix: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITIES, 0))
    for regulation, severity, n in rows:
        matrix[regulation][severity] = n
    labels = dict(Regulation.choices)
    table = [
        {
            "code": code,
            "name": labels.get(code, code),
            "cells": [{"severity": s, "n": counts[s]} for s in SEVERITIES],
            "total": sum(counts.values()),
        }
        for code, counts in sorted(matrix.items())
    ]
    totals = [sum(r["cells"][i]["n"] for r in table) for i in range(len(SEVERITIES))]
    worst = []
    if table:  # the few most severe, to act on (one query, bounded)
        ranked = {s: -SEVERITY_RANK[s] for s in SEVERITIES}
        candidates = (
            policy_selectors.finding_list(user=request.user)
            .filter(status=FindingStatus.OPEN, severity__in=SEVERITIES[:3])
            .exclude(asset=None)
            .order_by("-last_seen")[:50]
        )
        worst = sorted(candidates, key=lambda f: (ranked[f.severity], f.regulation))[:TOP]
    return {"severities": SEVERITIES, "rows": table, "totals": totals, "total": sum(totals), "worst": worst}


def retention_due(request, obj) -> dict[str, Any]:
    """Open ``retention_exceeded`` findings (assets holding data past their retention) and what the
    latest retention run (dry or real) counted, as the reader may see it."""
    due = (
        policy_selectors.finding_list(user=request.user)
        .filter(status=FindingStatus.OPEN, rule__check_name="retention_exceeded")
        .exclude(asset=None)
        .order_by("-last_seen")
    )
    assets = list(due.values_list("asset_id", "asset__name", "regulation")[: TOP * 3])
    seen: dict[int, dict[str, Any]] = {}
    for asset_id, name, regulation in assets:
        entry = seen.setdefault(asset_id, {"id": asset_id, "name": name, "regulations": []})
        entry["regulations"].append(regulation)
    run = RetentionRun.objects.restrict(request.user, VIEW).order_by("-started_at", "-id").first()
    report = policy_selectors.retention_report_for(run, request.user) if run else {}
    policies = policy_selectors.retention_policies().count()
    return {
        "findings": due.count(),
        "assets": list(seen.values())[:TOP],
        "asset_count": due.values("asset_id").distinct().count(),
        "policies": policies,
        "run": run,
        "summary": report.get("summary"),
        "items_hidden": report.get("items_hidden", 0),
        "items": len(report.get("items") or []),
    }


def evidence_exports(request, obj) -> dict[str, Any] | None:
    from compliance.evidence.selectors import export_list

    exports = list(export_list(user=request.user).order_by("-requested_at", "-id")[:TOP])
    for export in exports:
        export.percent = round(100 * (export.progress or 0))
    active = any(e.status in (RunStatus.QUEUED, RunStatus.RUNNING) for e in exports)
    return {"exports": exports, "active": active}


pages.panel("dashboard", "scan_coverage", label="Scan coverage", template="compliance/panels/scan_coverage.html",
            context=scan_coverage, order=12, permission=VIEW)  # fmt: skip
pages.panel("dashboard", "review", label="Suggestions awaiting review", template="compliance/panels/review.html",
            context=review_summary, order=20, permission=VIEW)  # fmt: skip
pages.panel("dashboard", "findings", label="Open findings", template="compliance/panels/findings.html",
            context=findings_matrix, order=30, permission=VIEW)  # fmt: skip
pages.panel("dashboard", "retention", label="Retention due", template="compliance/panels/retention.html",
            context=retention_due, order=40, permission=VIEW)  # fmt: skip
# order 50: "Models with open alerts" (monitoring/panels.py)
pages.panel("dashboard", "exports", label="Evidence exports", template="compliance/panels/exports.html",
            context=evidence_exports, order=60, permission=EXPORT)  # fmt: skip


# --- asset page ------------------------------------------------------------------------------------


def asset_policies(request, asset) -> dict[str, Any]:
    """Policies in force on the asset (the evaluation's scope rule) that the reader may see, and its
    open findings, most severe first."""
    visible = policy_selectors.policy_list(user=request.user)
    entity_types = {e for es in policy_selectors.asset_entity_types(asset).values() for e in es}
    applicable = []
    for kind in PolicyKind.values:
        applicable += policy_selectors.policies_for_asset(asset, kind, entity_types=entity_types)
    allowed = set(visible.filter(pk__in=[p.pk for p in applicable]).values_list("pk", flat=True))
    findings = sorted(
        policy_selectors.finding_list(user=request.user).filter(asset=asset, status=FindingStatus.OPEN),
        key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.regulation, f.rule.code),
    )
    return {
        "policies": [p for p in applicable if p.pk in allowed],
        "findings": findings,
        "holds": list(policy_selectors.active_holds(asset).values("reference", "created_at")),
        "entity_types": sorted(entity_types),
    }


def asset_sample(request, asset) -> dict[str, Any]:
    return {"asset": asset, "purposes": Purpose.choices, "purpose": Purpose.AUDIT}


pages.panel("asset", "policies", label="Policies & findings", template="compliance/panels/asset_policies.html",
            context=asset_policies, order=40, permission=VIEW)  # fmt: skip
pages.panel("asset", "sample", label="Sample", template="compliance/panels/asset_sample.html",
            context=asset_sample, order=60, permission=VIEW)  # fmt: skip
