"""What the monitoring app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors.

* header link "Models" (``models:list``)
* asset tab "Quality & drift": the asset's own data-quality suites (latest successful run's checks,
  a newer failed run, unresolved alerts with acknowledge/resolve forms), and the monitors whose
  reference is the asset, with the data-quality and drift results of each one's latest successful run
  (hidden when the asset has neither a visible suite nor a visible monitor)
* dashboard section "Models with open alerts": model versions with unresolved alerts, newest first
"""

from __future__ import annotations

from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery

from accounts.permissions import CHANGE, user_can
from core import pages

DASHBOARD_ROWS = 20


def asset_quality(request, asset) -> dict | None:
    from monitoring import selectors
    from monitoring.choices import ResultKind
    from monitoring.models import MonitorRun, window_q

    user = request.user
    latest = MonitorRun.objects.filter(window_q(), monitor=OuterRef("pk")).order_by("-finished_at", "-id")
    monitors = list(
        selectors.monitor_list(user=user)
        .filter(reference_asset=asset)
        .annotate(latest_run_id=Subquery(latest.values("pk")[:1]))
        .order_by("model_version_id", "name")
    )
    suites = quality_suites(user, asset)
    if not monitors and not suites:
        return None
    if not monitors:
        return {"monitors": [], "suites": suites, "can_change": user_can(user, CHANGE)}
    kinds = (ResultKind.QUALITY, ResultKind.DRIFT, ResultKind.DATASET_DRIFT)
    runs = {
        r.pk: r
        for r in selectors.run_list(user=user)
        .filter(pk__in=[m.latest_run_id for m in monitors if m.latest_run_id])
        .prefetch_related(
            Prefetch(
                "results",
                queryset=selectors.result_list(user=user).filter(kind__in=kinds).defer("details").order_by("kind", "name", "id"),
            )
        )
    }
    rows = []
    for m in monitors:
        run = runs.get(m.latest_run_id)
        results = list(run.results.all()) if run else []
        rows.append(
            {
                "monitor": m,
                "version": m.model_version,
                "run": run,
                "quality": [r for r in results if r.kind == ResultKind.QUALITY],
                "drift": [r for r in results if r.kind != ResultKind.QUALITY],
                "flagged": sum(1 for r in results if r.flagged),
            }
        )
    return {"monitors": rows, "suites": suites, "can_change": user_can(user, CHANGE)}


def quality_suites(user, asset) -> list[dict]:
    """The asset's visible quality suites: each one's latest successful run with its checks, a failed run
    newer than it, and its unresolved alerts (a fixed number of queries, whatever the number of suites)."""
    from monitoring import selectors
    from monitoring.choices import AlertState
    from monitoring.models import QualityRun

    done = QualityRun.objects.filter(suite=OuterRef("pk"), status="succeeded").order_by("-finished_at", "-id")
    failed = QualityRun.objects.filter(suite=OuterRef("pk"), status="failed").order_by("-created_at", "-id")
    suites = list(
        selectors.quality_suite_list(user=user)
        .filter(asset=asset)
        .select_related("reference_asset")
        .annotate(latest_run_id=Subquery(done.values("pk")[:1]), failed_run_id=Subquery(failed.values("pk")[:1]))
        .order_by("name", "id")
    )
    if not suites:
        return []
    ids = [s.latest_run_id for s in suites if s.latest_run_id] + [s.failed_run_id for s in suites if s.failed_run_id]
    runs = {
        r.pk: r
        for r in selectors.quality_run_list(user=user)
        .filter(pk__in=ids)
        .prefetch_related(Prefetch("results", queryset=selectors.quality_result_list(user=user).defer("details")))
    }
    alerts: dict[int, list] = {}
    for a in (
        selectors.quality_alert_list(user=user)
        .filter(suite__in=suites)
        .exclude(state=AlertState.RESOLVED)
        .select_related("acknowledged_by")
        .order_by("suite_id", "-opened_at")
    ):
        alerts.setdefault(a.suite_id, []).append(a)
    out = []
    for s in suites:
        run = runs.get(s.latest_run_id)
        fail = runs.get(s.failed_run_id)
        results = list(run.results.all()) if run else []
        out.append(
            {
                "suite": s,
                "run": run,
                "failed_run": fail if fail and (run is None or fail.created_at > run.created_at) else None,
                "results": results,
                "failed": sum(1 for r in results if r.flagged),
                "alerts": alerts.get(s.pk, []),
            }
        )
    return out


def models_with_open_alerts(request, obj) -> dict:
    from monitoring import selectors
    from monitoring.choices import AlertState

    mv = "monitor__model_version"
    rows = list(
        selectors.alert_list(user=request.user)
        .exclude(state=AlertState.RESOLVED)
        .order_by()
        .values(f"{mv}_id", f"{mv}__version", f"{mv}__stage", f"{mv}__model__name")
        .annotate(
            open=Count("id", filter=Q(state=AlertState.OPEN)),
            acknowledged=Count("id", filter=Q(state=AlertState.ACKNOWLEDGED)),
            latest=Max("opened_at"),
        )
        .order_by("-latest")[:DASHBOARD_ROWS]
    )
    return {
        "rows": [
            {
                "id": r[f"{mv}_id"],
                "model": r[f"{mv}__model__name"],
                "version": r[f"{mv}__version"],
                "stage": r[f"{mv}__stage"],
                "open": r["open"],
                "acknowledged": r["acknowledged"],
                "latest": r["latest"],
            }
            for r in rows
        ],
        "limit": DASHBOARD_ROWS,
    }


pages.nav_item("models:list", "Models", order=30)
pages.panel(
    "asset",
    "quality",
    label="Quality & drift",
    template="monitoring/panels/asset_quality.html",
    context=asset_quality,
    order=60,
    permission="view",
)
pages.panel(
    "dashboard",
    "models_alerts",
    label="Models with open alerts",
    template="monitoring/panels/dashboard_alerts.html",
    context=models_with_open_alerts,
    order=50,
    permission="view",
)

# evidence-bundle sections (compliance.evidence.sections): registered here, at start-up, like the panels
from monitoring.evidence import register_sections  # noqa: E402

register_sections()
