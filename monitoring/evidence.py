"""The monitoring section of an evidence bundle, as it stood at a moment ``at``: every monitor of the
selected model versions with its runs finished in (``period_from``, ``at``], their results, dataset
digests and library versions, and its alerts with their state *at* ``at`` (rebuilt from the opened,
acknowledged and resolved times) and acknowledgement reasons. Each run and alert cites the audit events
that recorded it (action, time, actor, and ``ledger: {seq, leaf_hash}`` once sequenced).

``compliance.evidence`` sits below monitoring in the dependency order and cannot import this module;
the bundle builder needs a section hook to include it (requested in the team notes). No data values:
feature and check names, scores, counts, digests and ids only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from audit.models import AuditEvent

from .choices import AlertState
from .models import Alert, Monitor, MonitorRun

FORMAT = "custos-monitoring-evidence 1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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
    *, at: datetime, period_from: datetime | None = None, model_version_ids: list[int] | None = None
) -> dict[str, Any]:
    monitors = Monitor.objects.filter(created_at__lte=at).select_related("model_version__model").order_by("pk")
    if model_version_ids is not None:
        monitors = monitors.filter(model_version_id__in=model_version_ids)
    monitors = list(monitors)
    runs = MonitorRun.objects.filter(monitor__in=monitors, finished_at__isnull=False, finished_at__lte=at)
    if period_from is not None:
        runs = runs.filter(finished_at__gt=period_from)
    runs = list(runs.prefetch_related("results").order_by("finished_at", "pk"))
    alerts = [a for a in Alert.objects.filter(monitor__in=monitors).order_by("opened_at", "pk") if state_at(a, at)]
    cites = _citations({"monitoring.monitorrun": [r.pk for r in runs], "monitoring.alert": [a.pk for a in alerts]}, at)
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
