"""What the monitoring app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors.

* header link "Models" (``models:list``)
* asset tab "Quality & drift": the monitors whose reference is the asset, with the data-quality and
  drift results of each one's latest successful run (hidden when no visible monitor uses the asset)
* dashboard section "Models with open alerts": model versions with unresolved alerts, newest first
"""

from __future__ import annotations

from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery

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
    if not monitors:
        return None
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
    return {"monitors": rows}


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
