"""Alerts: opened and resolved by runs (``sync_alerts``, inside the run's transaction), acknowledged
(``alert_acknowledge``, CHANGE, a reason required) and resolved by people (``alert_resolve``, CHANGE).
Every state change is one audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import CHANGE, require
from audit import services as audit
from core.types import Actor
from monitoring.choices import AlertState, ResultKind
from monitoring.models import Alert, MonitorResult, MonitorRun

from ._common import user_or_none

UNRESOLVED = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
ALERTING_KINDS = frozenset(ResultKind.values)


def _message(result: MonitorResult) -> str:
    if result.kind == ResultKind.DRIFT:
        return f"feature {result.name!r} drifted: {result.method} {result.score:.6g} against threshold {result.threshold:g}"
    if result.kind == ResultKind.DATASET_DRIFT:
        return f"dataset drift: share of drifted features {result.score:.3f} >= {result.threshold:g}"
    if result.kind == ResultKind.MULTIVARIATE and result.method == "domain_classifier":
        b = result.details
        return f"multivariate drift: domain classifier AUROC {result.score:.4g} outside [{b.get('lower', 0):g}, {b.get('upper', 0):g}]"
    if result.kind == ResultKind.MULTIVARIATE:
        return f"multivariate drift: {result.method} error {result.score:.4g} above the band's {result.threshold:.4g}"
    if result.kind == ResultKind.QUALITY:
        return f"data-quality check {result.name!r} failed: {result.score:.6g} against threshold {result.threshold:g}"
    if result.kind in (ResultKind.PERFORMANCE, ResultKind.ESTIMATED):
        b = result.details
        what = "estimated" if result.kind == ResultKind.ESTIMATED else "realized"
        return f"{what} {result.name} {result.score:.4g} outside [{b.get('lower', 0):.4g}, {b.get('upper', 0):.4g}]"
    return f"{result.kind} {result.name!r} flagged"


def sync_alerts(*, actor: Actor | str, run: MonitorRun, results: list[MonitorResult]) -> list[Alert]:
    """Open (or refresh) an alert per flagged result; resolve an unresolved alert whose subject the run
    tested and did not flag. Runs inside the caller's transaction; returns the alerts it touched."""
    touched = []
    existing = {
        (a.kind, a.subject): a for a in Alert.objects.select_for_update().filter(monitor=run.monitor, state__in=UNRESOLVED)
    }
    for result in results:
        if result.kind not in ALERTING_KINDS or result.score is None:
            continue
        alert = existing.get((result.kind, result.name))
        if result.flagged:
            if alert is None:
                alert = Alert(
                    monitor=run.monitor,
                    kind=result.kind,
                    subject=result.name,
                    message=_message(result),
                    first_run=run,
                    last_run=run,
                    last_result=result,
                )
                alert.full_clean()
                alert.save()
                audit.record(
                    actor=actor,
                    action="monitoring.alert_open",
                    target=alert,
                    details={"monitor": run.monitor_id, "run": run.pk, "kind": alert.kind, "subject": alert.subject},
                )
            else:
                alert.last_run, alert.last_result, alert.message = run, result, _message(result)
                alert.save(update_fields=["last_run", "last_result", "message"])
            touched.append(alert)
        elif alert is not None:
            alert.state = AlertState.RESOLVED
            alert.resolved_at = timezone.now()
            alert.resolved_by = user_or_none(actor)
            alert.resolve_reason = f"run {run.pk} tested it again and did not flag it"
            alert.last_run = run
            alert.save(update_fields=["state", "resolved_at", "resolved_by", "resolve_reason", "last_run"])
            audit.record(
                actor=actor,
                action="monitoring.alert_resolve",
                target=alert,
                reason=alert.resolve_reason,
                details={"monitor": run.monitor_id, "run": run.pk, "automatic": True},
            )
            touched.append(alert)
    return touched


def alert_acknowledge(*, actor: Actor | str, alert: Alert, reason: str) -> Alert:
    """An open alert becomes acknowledged: someone has looked and says why (the reason is audited)."""
    require(actor, CHANGE, "alerts")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a reason is required to acknowledge an alert"})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state != AlertState.OPEN:
            raise ValidationError(f"only an open alert can be acknowledged (this one is {alert.state})")
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_by = user_or_none(actor)
        alert.acknowledged_at = timezone.now()
        alert.acknowledge_reason = reason
        alert.full_clean()
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at", "acknowledge_reason"])
        audit.record(
            actor=actor,
            action="monitoring.alert_acknowledge",
            target=alert,
            reason=reason,
            details={"monitor": alert.monitor_id, "kind": alert.kind, "subject": alert.subject},
        )
    return alert


def alert_resolve(*, actor: Actor | str, alert: Alert, reason: str) -> Alert:
    """An open or acknowledged alert is closed by a person (a reason is required and audited)."""
    require(actor, CHANGE, "alerts")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a reason is required to resolve an alert"})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state == AlertState.RESOLVED:
            raise ValidationError("the alert is already resolved")
        alert.state = AlertState.RESOLVED
        alert.resolved_by = user_or_none(actor)
        alert.resolved_at = timezone.now()
        alert.resolve_reason = reason
        alert.full_clean()
        alert.save(update_fields=["state", "resolved_by", "resolved_at", "resolve_reason"])
        audit.record(
            actor=actor,
            action="monitoring.alert_resolve",
            target=alert,
            reason=reason,
            details={"monitor": alert.monitor_id, "kind": alert.kind, "subject": alert.subject, "automatic": False},
        )
    return alert
