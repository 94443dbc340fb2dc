"""The monitoring section of an evidence bundle, as it stood at a moment ``at``: every monitor of the
selected model versions with its runs finished in (``period_from``, ``at``], their results, dataset
digests and library versions, and its alerts with their state *at* ``at`` (rebuilt from the opened,
acknowledged and resolved times) and acknowledgement reasons. Each run and alert cites the audit events
that recorded it (action, time, actor, and ``ledger: {seq, leaf_hash}`` once sequenced).

``compliance.evidence`` sits below monitoring in the dependency order and cannot import this module:
monitoring registers its sections with ``compliance.evidence.sections`` (``register_sections``, called
from ``monitoring/panels.py`` at start-up): ``monitoring`` (runs, results, alerts of the period, with
CSV tables), ``model_cards``, ``explanations`` and ``fairness`` of the model versions in scope
(docs/evidence.md section 6.2). No data values: feature and check names, scores, counts, digests and
ids only; PDP/ICE curves (grid points and per-row curves come from data values) and the prediction ids
of explained decisions are left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from audit.models import AuditEvent

from .choices import AlertState
from .models import Alert, Monitor, MonitorRun, QualityAlert, QualityRun, QualitySuite

FORMAT = "custos-monitoring-evidence 1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None  # as the bundle writes times


def _citations(targets: dict[str, list[int]], at: datetime) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for target_type, ids in targets.items():
        events = (
            AuditEvent.objects.filter(target_type=target_type, target_id__in=[str(i) for i in ids], occurred_at__lte=at)
            .select_related("entry")
            .order_by("occurred_at", "id")
        )
        for e in events:
            entry = getattr(e, "entry", None)
            out[(target_type, e.target_id)].append(
                {
                    "action": e.action,
                    "time": _iso(e.occurred_at),
                    "actor": e.actor_name or e.actor_id,
                    "reason": e.reason,
                    "ledger": {"seq": entry.seq, "leaf_hash": bytes(entry.leaf_hash).hex()} if entry is not None else None,
                }
            )
    return out


def state_at(alert: Alert, at: datetime) -> str | None:
    """The alert's state at ``at`` (None: not yet opened)."""
    if alert.opened_at > at:
        return None
    if alert.resolved_at is not None and alert.resolved_at <= at:
        return AlertState.RESOLVED
    if alert.acknowledged_at is not None and alert.acknowledged_at <= at:
        return AlertState.ACKNOWLEDGED
    return AlertState.OPEN


def monitoring_evidence(
    *, at: datetime, period_from: datetime | None = None, model_version_ids: list[int] | None = None, cite=None
) -> dict[str, Any]:
    """``cite(targets, at)`` -> {(target_type, id): [event]} (default: every event up to ``at``, hex leaf
    hashes; the bundle passes one that cites only its own ledger range, base64 as its verifier checks)."""
    monitors = Monitor.objects.filter(created_at__lte=at).select_related("model_version__model").order_by("pk")
    if model_version_ids is not None:
        monitors = monitors.filter(model_version_id__in=model_version_ids)
    monitors = list(monitors)
    runs = MonitorRun.objects.filter(monitor__in=monitors, finished_at__isnull=False, finished_at__lte=at)
    if period_from is not None:
        runs = runs.filter(finished_at__gt=period_from)
    runs = list(runs.prefetch_related("results").order_by("finished_at", "pk"))
    alerts = [a for a in Alert.objects.filter(monitor__in=monitors).order_by("opened_at", "pk") if state_at(a, at)]
    cites = (cite or _citations)({"monitoring.monitorrun": [r.pk for r in runs], "monitoring.alert": [a.pk for a in alerts]}, at)
    by_monitor: dict[int, dict[str, list]] = defaultdict(lambda: {"runs": [], "alerts": []})
    for run in runs:
        by_monitor[run.monitor_id]["runs"].append(
            {
                "id": run.pk,
                "status": run.status,
                "trigger": run.trigger,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "rows": run.rows,
                "current_sha256": run.current_sha256,
                "reference": run.reference_label,
                "reference_sha256": (run.summary or {}).get("reference_sha256"),
                "dataset_drift": run.dataset_drift,
                "share_drifted": run.share_drifted,
                "library_versions": run.library_versions,
                "error": run.error,
                "results": [
                    {
                        "kind": r.kind,
                        "name": r.name,
                        "method": r.method,
                        "score": r.score,
                        "threshold": r.threshold,
                        "threshold_source": r.threshold_source,
                        "flagged": r.flagged,
                    }
                    for r in run.results.all()
                ],
                "events": cites.get(("monitoring.monitorrun", str(run.pk)), []),
            }
        )
    for alert in alerts:
        state = state_at(alert, at)
        by_monitor[alert.monitor_id]["alerts"].append(
            {
                "id": alert.pk,
                "kind": alert.kind,
                "subject": alert.subject,
                "state": state,
                "message": alert.message,
                "opened_at": _iso(alert.opened_at),
                "acknowledged_at": _iso(alert.acknowledged_at) if state != AlertState.OPEN else None,
                "acknowledge_reason": alert.acknowledge_reason if state != AlertState.OPEN else "",
                "resolved_at": _iso(alert.resolved_at) if state == AlertState.RESOLVED else None,
                "resolve_reason": alert.resolve_reason if state == AlertState.RESOLVED else "",
                "events": list(cites.get(("monitoring.alert", str(alert.pk)), [])),
            }
        )
    return {
        "format": FORMAT,
        "as_of": _iso(at),
        "period_from": _iso(period_from),
        "monitors": [
            {
                "id": m.pk,
                "name": m.name,
                "model": m.model_version.model.name,
                "model_version": m.model_version.version,
                "model_version_id": m.model_version_id,
                "reference": f"asset {m.reference_asset_id}" if m.reference_asset_id else f"profile {m.reference_profile_id}",
                "columns": m.columns,
                "drift_options": m.drift_options,
                "quality_checks": m.quality_checks,
                **by_monitor[m.pk],
            }
            for m in monitors
        ],
    }


# ---- evidence-bundle sections (compliance.evidence.sections) ----------------------------------------

RUN_COLUMNS = (
    "monitor_id", "monitor", "model", "model_version", "model_version_id", "run_id", "status", "trigger",
    "started_at", "finished_at", "rows", "dataset_drift", "share_drifted", "current_sha256", "reference",
    "reference_sha256", "error",
)  # fmt: skip
RESULT_COLUMNS = (
    "run_id", "monitor_id", "model", "model_version", "kind", "name", "method", "score", "threshold",
    "threshold_source", "flagged",
)  # fmt: skip
ALERT_COLUMNS = (
    "alert_id", "monitor_id", "model", "model_version", "kind", "subject", "state", "opened_at",
    "acknowledged_at", "acknowledge_reason", "resolved_at", "resolve_reason",
)  # fmt: skip
EXPLANATION_COLUMNS = (
    "id", "model", "model_version", "model_version_id", "scope", "explainer", "engine_version", "output",
    "base_value", "sample_size", "dataset_sha256", "background_sha256", "background_size", "seed",
    "max_abs_residual", "top_features", "created_at",
)  # fmt: skip
FAIRNESS_COLUMNS = (
    "assessment_id", "model", "model_version", "attributes", "group", "n", "small", "selection_rate", "tpr",
    "fpr", "fnr", "ppv", "demographic_parity_difference", "demographic_parity_ratio",
    "equalized_odds_difference", "four_fifths_ratio", "four_fifths_flag", "dataset_sha256", "created_at",
)  # fmt: skip


def _bundle_cite(ctx):
    def cite(targets: dict[str, list[int]], at: datetime) -> dict[tuple[str, str], list[dict]]:
        out: dict[tuple[str, str], list[dict]] = {}
        for target_type, ids in targets.items():
            for target_id, events in ctx.cite(target_type, ids).items():
                out[(target_type, target_id)] = events
        return out

    return cite


def monitoring_section(ctx) -> dict[str, Any]:
    doc = monitoring_evidence(
        at=ctx.at, period_from=ctx.period_from, model_version_ids=ctx.model_version_ids, cite=_bundle_cite(ctx)
    )
    doc["note"] = (
        "monitors of the model versions in scope; runs finished in the period with every result; alerts in "
        "their state at as_of (rebuilt from their opened, acknowledged and resolved times)"
    )
    return doc


def _label(m: dict) -> dict:
    return {"monitor_id": m["id"], "monitor": m["name"], "model": m["model"], "model_version": m["model_version"]}


def run_rows(doc: dict) -> list[dict]:
    return [
        {
            **_label(m),
            "model_version_id": m["model_version_id"],
            "run_id": r["id"],
            **{k: r.get(k) for k in RUN_COLUMNS if k in r},
        }
        for m in doc["monitors"]
        for r in m["runs"]
    ]


def result_rows(doc: dict) -> list[dict]:
    return [{**_label(m), "run_id": r["id"], **res} for m in doc["monitors"] for r in m["runs"] for res in r["results"]]


def alert_rows(doc: dict) -> list[dict]:
    return [
        {**_label(m), "alert_id": a["id"], **{k: a.get(k) for k in ALERT_COLUMNS if k in a}}
        for m in doc["monitors"]
        for a in m["alerts"]
    ]


def _versions(ctx):
    from catalog.models import ModelVersion

    return {
        v.pk: v
        for v in ModelVersion.objects.filter(pk__in=ctx.model_version_ids).select_related(
            "model", "model__owner", "model__domain"
        )
    }


def model_cards_section(ctx) -> dict[str, Any]:
    from monitoring.explain import card as cards

    versions = _versions(ctx)
    return {
        "format": "custos-model-cards 1",
        "note": (
            "model cards (Model Card Toolkit fields and an EU AI Act Annex IV draft, docs/explain.md) generated when "
            "the bundle was built, from the records held then, read with the auditor's view; unlike the other files "
            "they are not rebuilt as of the date. Fields the records do not hold are listed in each card's 'missing'."
        ),
        "cards": [cards.model_card(user=ctx.reader, model_version=versions[pk]) for pk in sorted(versions)],
    }


def _top(rows: list, n: int = 5) -> list[dict]:
    if not rows:
        return []
    items = sorted((rows[0].get("contributions") or {}).items(), key=lambda kv: -abs(kv[1]))[:n]
    return [{"feature": k, "contribution": v} for k, v in items]


def explanations_section(ctx) -> dict[str, Any]:
    from monitoring.explain.models import Explanation

    versions = _versions(ctx)
    qs = Explanation.objects.filter(model_version_id__in=list(versions), created_at__lte=ctx.at).select_related("created_by")
    items = list(qs.order_by("created_at", "pk"))
    cites = ctx.cite("explain.explanation", [e.pk for e in items])
    out = []
    for e in items:
        v = versions[e.model_version_id]
        parameters = dict(e.parameters or {})
        if isinstance(parameters.get("source"), dict):
            parameters["source"] = {k: val for k, val in parameters["source"].items() if k != "prediction_id"}
        result = e.result or {}
        out.append(
            {
                "id": e.pk,
                "model": v.model.name,
                "model_version": v.version,
                "model_version_id": v.pk,
                "scope": e.scope,
                "explainer": e.explainer,
                "engine_version": e.engine_version,
                "output": e.output,
                "base_value": e.base_value,
                "rows": len(e.rows or []),
                "top_contributions": _top(e.rows or []),
                "permutation_importance": result.get("permutation_importance", []),
                "parameters": parameters,
                "dataset_sha256": e.dataset_sha256,
                "sample_size": e.sample_size,
                "background_sha256": e.background_sha256,
                "background_size": e.background_size,
                "seed": e.seed,
                "max_abs_residual": e.max_abs_residual,
                "summary": e.summary,
                "created_at": _iso(e.created_at),
                "created_by": e.created_by.get_username() if e.created_by_id else None,
                "events": cites.get(str(e.pk), []),
            }
        )
    return {
        "format": "custos-explanations-evidence 1",
        "as_of": _iso(ctx.at),
        "note": (
            "explanations of the model versions in scope computed at or before as_of: explainer, version, parameters, "
            "data and background digests and sizes, seed, additivity residual, the first decision's five largest "
            "contributions and global permutation importance. Per-decision rows, PDP/ICE curves and the prediction "
            "ids of explained decisions are not included (they derive from, or point at, individual records)."
        ),
        "explanations": out,
    }


def explanation_rows(doc: dict) -> list[dict]:
    return [
        {**{k: e.get(k) for k in EXPLANATION_COLUMNS}, "top_features": [t["feature"] for t in e["top_contributions"]]}
        for e in doc["explanations"]
    ]


def fairness_section(ctx) -> dict[str, Any]:
    from monitoring.explain.models import FairnessAssessment

    versions = _versions(ctx)
    items = list(
        FairnessAssessment.objects.filter(model_version_id__in=list(versions), created_at__lte=ctx.at)
        .select_related("created_by")
        .order_by("created_at", "pk")
    )
    cites = ctx.cite("explain.fairnessassessment", [a.pk for a in items])
    out = []
    for a in items:
        v = versions[a.model_version_id]
        out.append(
            {
                "id": a.pk,
                "model": v.model.name,
                "model_version": v.version,
                "model_version_id": v.pk,
                "attributes": a.attributes,
                "prediction_column": a.prediction_column,
                "label_column": a.label_column,
                "n": a.n,
                "dataset_sha256": a.dataset_sha256,
                "four_fifths_flag": a.flagged,
                "report": a.report,
                "created_at": _iso(a.created_at),
                "created_by": a.created_by.get_username() if a.created_by_id else None,
                "events": cites.get(str(a.pk), []),
            }
        )
    return {
        "format": "custos-fairness-evidence 1",
        "as_of": _iso(ctx.at),
        "note": (
            "fairness assessments of the model versions in scope made at or before as_of, each with its full report "
            "(per-group counts and rates, fairlearn and AIF360 conventions, four-fifths screen with its significance "
            "test, bootstrap intervals when computed). The four-fifths flag is a screening flag, not a finding of "
            "discrimination; groups are aggregates, small groups are flagged, not dropped."
        ),
        "assessments": out,
    }


def fairness_rows(doc: dict) -> list[dict]:
    rows = []
    for a in doc["assessments"]:
        reports = (a["report"].get("by_attribute") or {}).items() if "by_attribute" in a["report"] else [(None, a["report"])]
        for attribute, r in reports:
            ff = r.get("four_fifths") or {}
            for g in r.get("groups", []):
                rows.append(
                    {
                        "assessment_id": a["id"],
                        "model": a["model"],
                        "model_version": a["model_version"],
                        "attributes": [attribute] if attribute else a["attributes"],
                        **{k: g.get(k) for k in ("group", "n", "small", "selection_rate", "tpr", "fpr", "fnr", "ppv")},
                        "demographic_parity_difference": r.get("demographic_parity_difference"),
                        "demographic_parity_ratio": r.get("demographic_parity_ratio"),
                        "equalized_odds_difference": r.get("equalized_odds_difference"),
                        "four_fifths_ratio": ff.get("ratio"),
                        "four_fifths_flag": ff.get("flag"),
                        "dataset_sha256": a["dataset_sha256"],
                        "created_at": a["created_at"],
                    }
                )
    return rows


REPORT_PLOTS = 6  # over-time plots per monitor in report.html, after the dataset-drift one


def monitoring_report_context(ctx, doc: dict) -> dict[str, Any]:
    """Over-time plots of the period's runs for report.html (``data:`` URIs of monitoring.plots' SVG, so
    the report stays one offline file): the share of drifted features, then every result flagged in some
    run of the period, from the numbers in ``monitoring.json`` itself."""
    import base64

    from .plots import over_time_svg

    def uri(svg: str) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")

    out = []
    for m in doc["monitors"]:
        runs = [r for r in m["runs"] if r["status"] == "succeeded" and r["finished_at"]]
        series: dict[tuple[str, str], list[tuple[datetime, dict]]] = defaultdict(list)
        for r in runs:
            when = datetime.fromisoformat(r["finished_at"].replace("Z", "+00:00"))
            for res in r["results"]:
                if res["score"] is not None:
                    series[(res["kind"], res["name"])].append((when, res))
        keys = [("dataset_drift", "dataset")] if ("dataset_drift", "dataset") in series else []
        keys += [k for k, points in series.items() if k not in keys and any(p["flagged"] for _, p in points)][:REPORT_PLOTS]
        plots = []
        for kind, name in keys:
            points = series[(kind, name)]
            title = f"{name} ({kind}) over the period's runs of {m['name']}"
            svg = over_time_svg(
                title,
                [t for t, _ in points],
                [p["score"] for _, p in points],
                flagged=[p["flagged"] for _, p in points],
                threshold=points[-1][1]["threshold"],
            )
            plots.append({"title": title, "uri": uri(svg)})
        out.append({"monitor": m, "plots": plots})
    return {"monitors": out}


# ---- per-asset data-quality suites ----------------------------------------------------------------

QUALITY_FORMAT = "custos-quality-evidence 1"
QUALITY_RUN_COLUMNS = (
    "suite_id", "suite", "asset_id", "asset", "run_id", "status", "trigger", "started_at", "finished_at", "rows",
    "failed", "not_checked", "current_sha256", "baseline_sha256", "error",
)  # fmt: skip
QUALITY_RESULT_COLUMNS = (
    "suite_id", "suite", "asset_id", "asset", "run_id", "name", "check", "column", "score", "threshold",
    "threshold_source", "flagged",
)  # fmt: skip
QUALITY_ALERT_COLUMNS = (
    "suite_id", "suite", "asset_id", "asset", "alert_id", "subject", "state", "opened_at", "acknowledged_at",
    "acknowledge_reason", "resolved_at", "resolve_reason",
)  # fmt: skip


def quality_evidence(
    *, at: datetime, period_from: datetime | None = None, asset_ids: list[int] | None = None, cite=None
) -> dict[str, Any]:
    """Every quality suite (of ``asset_ids`` when given) created by ``at``: its configuration and
    baseline digest, its runs finished in (``period_from``, ``at``] with every check, and its alerts in
    their state at ``at``; runs and alerts cite their audit events. No data values (the baseline's
    category lists stay in the database)."""
    suites = QualitySuite.objects.filter(created_at__lte=at).select_related("asset").order_by("pk")
    if asset_ids:
        suites = suites.filter(asset_id__in=asset_ids)
    suites = list(suites)
    runs = QualityRun.objects.filter(suite__in=suites, finished_at__isnull=False, finished_at__lte=at)
    if period_from is not None:
        runs = runs.filter(finished_at__gt=period_from)
    runs = list(runs.prefetch_related("results").order_by("finished_at", "pk"))
    alerts = [a for a in QualityAlert.objects.filter(suite__in=suites).order_by("opened_at", "pk") if state_at(a, at)]
    cites = (cite or _citations)(
        {"monitoring.qualityrun": [r.pk for r in runs], "monitoring.qualityalert": [a.pk for a in alerts]}, at
    )
    by_suite: dict[int, dict[str, list]] = defaultdict(lambda: {"runs": [], "alerts": []})
    for run in runs:
        summary = run.summary or {}
        by_suite[run.suite_id]["runs"].append(
            {
                "id": run.pk,
                "status": run.status,
                "trigger": run.trigger,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "rows": run.rows,
                "failed": summary.get("failed"),
                "not_checked": summary.get("not_checked"),
                "current_sha256": run.current_sha256,
                "baseline_sha256": run.baseline_sha256,
                "library_versions": run.library_versions,
                "error": run.error,
                "results": [
                    {
                        "name": r.name,
                        "check": r.check_name,
                        "column": r.column,
                        "score": r.score,
                        "threshold": r.threshold,
                        "threshold_source": r.threshold_source,
                        "flagged": r.flagged,
                    }
                    for r in run.results.all()
                ],
                "events": cites.get(("monitoring.qualityrun", str(run.pk)), []),
            }
        )
    for alert in alerts:
        state = state_at(alert, at)
        by_suite[alert.suite_id]["alerts"].append(
            {
                "id": alert.pk,
                "subject": alert.subject,
                "state": state,
                "message": alert.message,
                "opened_at": _iso(alert.opened_at),
                "acknowledged_at": _iso(alert.acknowledged_at) if state != AlertState.OPEN else None,
                "acknowledge_reason": alert.acknowledge_reason if state != AlertState.OPEN else "",
                "resolved_at": _iso(alert.resolved_at) if state == AlertState.RESOLVED else None,
                "resolve_reason": alert.resolve_reason if state == AlertState.RESOLVED else "",
                "events": list(cites.get(("monitoring.qualityalert", str(alert.pk)), [])),
            }
        )
    return {
        "format": QUALITY_FORMAT,
        "as_of": _iso(at),
        "period_from": _iso(period_from),
        "suites": [
            {
                "id": q.pk,
                "name": q.name,
                "asset_id": q.asset_id,
                "asset": q.asset.qualified_name,
                "reference_asset_id": q.reference_asset_id,
                "columns": q.columns,
                "checks": q.checks,
                "baseline": q.baseline_label,
                "baseline_sha256": q.baseline_sha256,
                "schedule_minutes": q.schedule_minutes,
                "on_new_data": q.on_new_data,
                **by_suite[q.pk],
            }
            for q in suites
        ],
    }


def quality_section(ctx) -> dict[str, Any]:
    doc = quality_evidence(at=ctx.at, period_from=ctx.period_from, asset_ids=ctx.scope.asset_ids or None, cite=_bundle_cite(ctx))
    doc["note"] = (
        "per-asset data-quality suites (of the assets in scope when the export is filtered); runs finished in the "
        "period with every check; alerts in their state at as_of"
    )
    return doc


def _qlabel(q: dict) -> dict:
    return {"suite_id": q["id"], "suite": q["name"], "asset_id": q["asset_id"], "asset": q["asset"]}


def quality_run_rows(doc: dict) -> list[dict]:
    return [
        {**_qlabel(q), "run_id": r["id"], **{k: r.get(k) for k in QUALITY_RUN_COLUMNS if k in r}}
        for q in doc["suites"]
        for r in q["runs"]
    ]


def quality_result_rows(doc: dict) -> list[dict]:
    return [{**_qlabel(q), "run_id": r["id"], **res} for q in doc["suites"] for r in q["runs"] for res in r["results"]]


def quality_alert_rows(doc: dict) -> list[dict]:
    return [
        {**_qlabel(q), "alert_id": a["id"], **{k: a.get(k) for k in QUALITY_ALERT_COLUMNS if k in a}}
        for q in doc["suites"]
        for a in q["alerts"]
    ]


def register_sections() -> None:
    """Register monitoring's evidence sections (idempotent)."""
    from compliance.evidence.sections import Table, register

    register(
        "monitoring",
        title="Model monitoring",
        collect=monitoring_section,
        tables=(
            Table("monitoring_runs", RUN_COLUMNS, run_rows),
            Table("monitoring_results", RESULT_COLUMNS, result_rows),
            Table("monitoring_alerts", ALERT_COLUMNS, alert_rows),
        ),
        report_template="monitoring/evidence/monitoring.html",
        report_context=monitoring_report_context,
        order=10,
    )
    register(
        "model_cards",
        title="Model cards and Annex IV drafts",
        collect=model_cards_section,
        report_template="monitoring/evidence/model_cards.html",
        order=20,
    )
    register(
        "explanations",
        title="Explanations",
        collect=explanations_section,
        tables=(Table("explanations", EXPLANATION_COLUMNS, explanation_rows),),
        report_template="monitoring/evidence/explanations.html",
        order=30,
    )
    register(
        "fairness",
        title="Fairness assessments",
        collect=fairness_section,
        tables=(Table("fairness", FAIRNESS_COLUMNS, fairness_rows),),
        report_template="monitoring/evidence/fairness.html",
        order=40,
    )
    register(
        "quality_suites",
        title="Data-quality suites of assets",
        collect=quality_section,
        tables=(
            Table("quality_runs", QUALITY_RUN_COLUMNS, quality_run_rows),
            Table("quality_results", QUALITY_RESULT_COLUMNS, quality_result_rows),
            Table("quality_alerts", QUALITY_ALERT_COLUMNS, quality_alert_rows),
        ),
        report_template="monitoring/evidence/quality_suites.html",
        order=15,
    )
