"""Pages of ML models and model versions (issue 18): the list of models, a model with its versions and
stages, and a model version with its card, training and evaluation data (through lineage), monitoring
results and plots, alerts (acknowledged here with a reason), explanations and fairness results.

Every read goes through the scoped selectors the API uses (``catalog.selectors.model_list``,
``monitoring.explain.selectors.model_version_list`` -- a version trained or evaluated on a restricted
asset is a 404 for users without ``view_restricted`` -- and ``monitoring.selectors``); the only write,
acknowledging an alert, calls ``monitoring.services.alert_acknowledge`` with ``actor=request.user``, whose
``require()`` decides. A refusal is shown as a message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import CHANGE, user_can
from catalog import selectors as catalog_selectors
from core import pages
from monitoring import selectors, services
from monitoring.choices import AlertState, ResultKind
from monitoring.explain import selectors as explain_selectors
from monitoring.models import MonitorRun, window_q

LIST_LIMIT = 200
SCHEMA_CHANGES = (("removed", "columns missing"), ("added", "columns added"), ("type_changed", "type changed"))
PLOTTED_FLAGS = 6  # over-time plots of flagged results per monitor, beyond the dataset and performance ones
DISTRIBUTIONS = 3  # reference-vs-current distributions per monitor (each reads the window's batch files)


def _visible_versions(user):
    """Model versions ``user`` may see, without the card's prefetches (list pages only need the row)."""
    return explain_selectors.model_version_list(user=user).prefetch_related(None)


def _open_alerts_by_version(user, versions=None) -> dict[int, int]:
    qs = selectors.alert_list(user=user).exclude(state=AlertState.RESOLVED)
    if versions is not None:
        qs = qs.filter(monitor__model_version__in=versions)
    rows = qs.order_by().values("monitor__model_version_id").annotate(n=Count("id"))
    return {r["monitor__model_version_id"]: r["n"] for r in rows}


@login_required
def model_list_page(request):
    query = request.GET.get("q", "").strip()[:200]
    models = (
        catalog_selectors.model_list(user=request.user)
        .prefetch_related(None)
        .prefetch_related("tags", Prefetch("versions", queryset=_visible_versions(request.user).order_by("-created_at")))
        .order_by("name")
    )
    if query:
        models = models.filter(Q(name__icontains=query) | Q(description__icontains=query))
    total = models.count()
    models = list(models[:LIST_LIMIT])
    alerts = _open_alerts_by_version(request.user)
    for m in models:
        m.visible_versions = list(m.versions.all())
        m.open_alerts = sum(alerts.get(v.pk, 0) for v in m.visible_versions)
        m.production = [v for v in m.visible_versions if v.stage == "production"]
    return render(request, "monitoring/model_list.html", {"models": models, "total": total, "limit": LIST_LIMIT, "query": query})


@login_required
def model_page(request, pk: int):
    model = get_object_or_404(
        catalog_selectors.model_list(user=request.user).prefetch_related(None).prefetch_related("tags"), pk=pk
    )
    versions = list(_visible_versions(request.user).filter(model=model).order_by("-created_at", "-id"))
    alerts = _open_alerts_by_version(request.user, versions=[v.pk for v in versions])
    monitors = {
        r["model_version_id"]: r
        for r in selectors.monitor_list(user=request.user)
        .filter(model_version__in=[v.pk for v in versions])
        .order_by()
        .values("model_version_id")
        .annotate(n=Count("id"), last_run=Max("last_run_at"))
    }
    for v in versions:
        v.open_alerts = alerts.get(v.pk, 0)
        v.monitor_count = monitors.get(v.pk, {}).get("n", 0)
        v.last_run = monitors.get(v.pk, {}).get("last_run")
    order = ["production", "staging", "development", "retired"]  # what runs now first
    stages = {}
    for v in sorted(versions, key=lambda v: order.index(v.stage) if v.stage in order else len(order)):
        stages.setdefault(v.get_stage_display(), []).append(v)
    return render(request, "monitoring/model.html", {"model": model, "versions": versions, "stages": stages})


def _monitoring(request, version) -> list[dict[str, Any]]:
    """Per monitor of the version: the latest successful run, its results and the plots to show."""
    user = request.user
    latest = MonitorRun.objects.filter(window_q(), monitor=OuterRef("pk")).order_by("-finished_at", "-id")
    monitors = list(
        selectors.monitor_list(user=user)
        .filter(model_version=version)
        .select_related("reference_asset", "reference_profile")
        .annotate(
            latest_run_id=Subquery(latest.values("pk")[:1]),
            succeeded_runs=Count("runs", filter=window_q("runs__")),
        )
        .order_by("name", "id")
    )
    run_ids = [m.latest_run_id for m in monitors if m.latest_run_id]
    runs = {
        r.pk: r
        for r in selectors.run_list(user=user)
        .filter(pk__in=run_ids)
        .prefetch_related(
            Prefetch("results", queryset=selectors.result_list(user=user).defer("details").order_by("kind", "name", "id"))
        )
    }
    failed = {
        r.monitor_id: r
        for r in selectors.run_list(user=user).filter(monitor__in=monitors, status="failed").order_by("monitor_id", "-created_at")
    }
    out = []
    for m in monitors:
        run = runs.get(m.latest_run_id)
        results = list(run.results.all()) if run else []
        flagged = [r for r in results if r.flagged]
        plots = [("dataset_drift", "dataset", "Share of drifted features over runs")] if run else []
        plots += [
            (r.kind, r.name, f"{r.get_kind_display()}: {r.name} over runs")
            for r in flagged
            if r.kind not in ("dataset_drift", "performance", "estimated")
        ][:PLOTTED_FLAGS]
        performance = [
            (r.kind, r.name, f"{r.get_kind_display()}: {r.name} over runs")
            for r in results
            if r.kind in ("performance", "estimated")
        ]
        drift = [r for r in results if r.kind == ResultKind.DRIFT]
        # the drifted features first; without drift, the first features, so the page always shows some
        distributions = [r.name for r in sorted(drift, key=lambda r: (not r.flagged, r.name))][:DISTRIBUTIONS]
        out.append(
            {
                "monitor": m,
                "run": run,
                "failed": failed.get(m.pk)
                if failed.get(m.pk) and (run is None or failed[m.pk].created_at > run.created_at)
                else None,
                "results": results,
                "flagged": flagged,
                "plots": [{"kind": k, "name": n, "title": t} for k, n, t in plots],
                "performance_plots": [{"kind": k, "name": n, "title": t} for k, n, t in performance],
                "distributions": distributions,
                "runs": m.succeeded_runs,
            }
        )
    return out


@login_required
def version_page(request, pk: int):
    from monitoring.explain import card as cards

    user = request.user
    version = get_object_or_404(
        explain_selectors.model_version_list(user=user).select_related("model__owner", "model__domain"), pk=pk
    )
    card = cards.model_card(user=user, model_version=version)
    alerts = list(
        selectors.alert_list(user=user)
        .filter(monitor__model_version=version)
        .exclude(state=AlertState.RESOLVED)
        .select_related("acknowledged_by", "last_run", "last_result")
        .order_by("-opened_at", "-id")
    )
    for a in alerts:  # what a schema check found, by column name (details never hold data values)
        details = a.last_result.details if a.last_result is not None else {}
        a.changes = [(label, details[key]) for key, label in SCHEMA_CHANGES if details.get(key)]
    resolved = list(
        selectors.alert_list(user=user)
        .filter(monitor__model_version=version, state=AlertState.RESOLVED)
        .select_related("resolved_by")
        .order_by("-resolved_at", "-id")[:10]
    )
    explanations = list(
        explain_selectors.explanation_list(user=user)
        .filter(model_version=version)
        .defer("rows", "result")
        .order_by("-created_at", "-id")[:10]
    )
    fairness = list(explain_selectors.fairness_list(user=user).filter(model_version=version).order_by("-created_at", "-id")[:5])
    # open findings first, then the latest resolved ones (their evidence says which assessment passed)
    fairness_findings = sorted(
        explain_selectors.fairness_finding_list(user=user).filter(model_version=version).order_by("-last_seen", "-id")[:20],
        key=lambda f: (f.status != "open", f.severity != "high"),
    )
    context = {
        "version": version,
        "model": version.model,
        "card": card,
        "details": card["model_details"],
        "params": card["model_parameters"],
        "quant": card["quantitative_analysis"],
        "considerations": card["considerations"],
        "annex": card["annex_iv"],
        "monitors": _monitoring(request, version),
        "alerts": alerts,
        "resolved": resolved,
        "can_acknowledge": user_can(user, CHANGE),
        "explanations": explanations,
        "global_explanation": card["quantitative_analysis"]["explanations"]["global"],
        "fairness": fairness,
        "fairness_findings": fairness_findings,
        "panels": pages.panels_for("model_version", request, version),
        "obj": version,
    }
    return render(request, "monitoring/version.html", context)


def _alert_action(request, alert, service, verb: str, target: str):
    """Call the alert ``service`` with the posted reason; a refusal or an empty reason is a message."""
    try:
        service(actor=request.user, alert=alert, reason=request.POST.get("reason", "")[:2000])
    except PermissionDenied as exc:
        messages.error(request, f"Not {verb}: {exc}.")
    except ValidationError as exc:
        messages.error(request, f"Not {verb}: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"Alert on {alert.subject} {verb}.")
    return redirect(target)


@login_required
@require_POST
def alert_resolve_page(request, pk: int):
    """Resolve an open or acknowledged alert with a reason (``monitoring.services.alert_resolve``: ``change``)."""
    alert = get_object_or_404(selectors.alert_list(user=request.user).select_related("monitor"), pk=pk)
    target = reverse("models:version", args=[alert.monitor.model_version_id])
    return _alert_action(request, alert, services.alert_resolve, "resolved", target)


@login_required
@require_POST
def quality_alert_page(request, pk: int, verb: str):
    """Acknowledge or resolve a quality-suite alert with a reason (``quality_alert_acknowledge`` /
    ``quality_alert_resolve``: ``change``); back to the asset page's quality tab."""
    alert = get_object_or_404(selectors.quality_alert_list(user=request.user).select_related("suite"), pk=pk)
    target = reverse("catalog:asset", args=[alert.suite.asset_id]) + "#panel-quality"
    if verb == "acknowledge":
        return _alert_action(request, alert, services.quality_alert_acknowledge, "acknowledged", target)
    return _alert_action(request, alert, services.quality_alert_resolve, "resolved", target)


@login_required
@require_POST
def alert_acknowledge_page(request, pk: int):
    """Acknowledge an open alert with a reason (``monitoring.services.alert_acknowledge``: ``change``)."""
    alert = get_object_or_404(selectors.alert_list(user=request.user).select_related("monitor"), pk=pk)
    # the page top: the message shows there, and the alerts are the page's first section
    target = reverse("models:version", args=[alert.monitor.model_version_id])
    try:
        services.alert_acknowledge(actor=request.user, alert=alert, reason=request.POST.get("reason", "")[:2000])
    except PermissionDenied as exc:
        messages.error(request, f"Not acknowledged: {exc}.")
    except ValidationError as exc:
        messages.error(request, "Not acknowledged: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"Alert on {alert.subject} acknowledged.")
    return redirect(target)
