"""Per-asset data-quality suites: the checks of ``monitoring.stats.quality`` stored for a cataloged asset,
run on a schedule or when the asset's file changed (``monitoring.monitors_due``), by the API, the admin,
``manage.py quality_suite_run`` and the ``monitoring.quality_suite_run`` task -- all through
``quality_suite_run`` here. Rows are read only through compliance.datasets (``read_typed_frame`` of
``datasets.resolve_asset``), as monitors read theirs; the database keeps the baseline's summary
(types, null shares, ranges, categories), the results and the alerts, never rows.

* ``quality_suite_create``            ADD     the suite and its baseline (the reference asset's rows, else the asset's own)
* ``quality_suite_update``            CHANGE  editable fields; ``rebaseline`` (or new columns) re-reads the baseline
* ``quality_suite_run``               ADD     one run: results stored, alerts opened/resolved, all audited
* ``quality_alert_acknowledge``       CHANGE  open -> acknowledged, a reason required
* ``quality_alert_resolve``           CHANGE  -> resolved, a reason required

Audit events: ``monitoring.quality_suite_create``, ``monitoring.quality_suite_update``,
``monitoring.quality_run_start``, ``monitoring.quality_run_finish``, ``monitoring.quality_run_fail``,
``monitoring.quality_alert_open``, ``monitoring.quality_alert_acknowledge``, ``monitoring.quality_alert_resolve``.
Details hold ids, counts, digests and check names only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import ADD, CHANGE, VIEW, VIEW_RESTRICTED, require, user_can
from audit import services as audit
from compliance import datasets
from core.choices import RunStatus
from core.types import Actor
from monitoring.choices import AlertState
from monitoring.data import read_typed_frame
from monitoring.models import QualityAlert, QualityCheckResult, QualityRun, QualitySuite
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.profile import CATEGORY_CAP
from monitoring.stats.quality import QualityConfig, QualityResult, ReferenceSummary, run_checks

from ._common import library_versions, user_or_none

EDITABLE = ("name", "columns", "checks", "schedule_minutes", "on_new_data", "active")
UNRESOLVED = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


class SuiteInputError(ValueError):
    """The suite's data could not be read or checked: the run fails with this one-line message."""


def _visible_asset(actor: Actor | str, asset, field: str) -> None:
    """Refuse (as unknown) an asset the actor may not see; its owners see their restricted asset."""
    from catalog.models import DataAsset

    if asset is None or isinstance(actor, str) or user_can(actor, VIEW_RESTRICTED):
        return
    if not user_can(actor, VIEW):
        raise PermissionDenied(f"{getattr(actor, 'role', None) or 'anonymous'} may not view assets")
    visible = DataAsset.objects.restrict(actor, VIEW).filter(pk=asset.pk).exists()
    if not visible and not asset.owners.filter(pk=actor.pk).exists():
        raise ValidationError({field: "no such asset"})


def _read(asset, what: str, columns: list[str] | None = None):
    """(frame, location) of the asset's rows through compliance.datasets; a one-line error naming no value."""
    from monitoring.services.runs import frame_sha256

    try:
        loc = datasets.resolve_asset(asset)
        frame = read_typed_frame(loc, columns=columns)
    except datasets.LocationRefused as exc:
        raise SuiteInputError(f"{what} asset {asset.pk}: {exc.messages[0]}") from None
    except (datasets.ReadError, ValidationError, OSError) as exc:
        raise SuiteInputError(f"{what} asset {asset.pk} could not be read: {type(exc).__name__}") from None
    return frame, loc, frame_sha256(frame)


def data_marker(asset) -> str:
    """Size and modification time of the asset's file ("" for a table or an unreadable location): the
    tick runs an ``on_new_data`` suite when it differs from the one its last run read."""
    try:
        loc = datasets.resolve_asset(asset)
    except (datasets.LocationRefused, ValidationError):
        return ""
    if loc.is_table or loc.path is None:
        return ""
    try:
        st = loc.path.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


def _config(checks: dict) -> QualityConfig:
    try:
        return QualityConfig.from_json(checks)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValidationError({"checks": str(exc).splitlines()[0]}) from None


def _baseline(suite: QualitySuite) -> None:
    """Read the baseline (reference asset, else the asset) and store its summary and digest on ``suite``."""
    source = suite.reference_asset or suite.asset
    try:
        frame, _loc, sha = _read(source, "baseline")
    except SuiteInputError as exc:
        raise ValidationError({"reference_asset" if suite.reference_asset_id else "asset": str(exc)}) from None
    missing = [c for c in suite.columns if c not in frame.columns]
    if missing:
        raise ValidationError({"columns": f"the baseline has no column(s) {', '.join(missing)}"})
    features = list(suite.columns) or list(frame.columns)
    summary = ReferenceSummary.from_frame(frame, resolve_kinds(frame, features, None))
    suite.baseline = summary.to_json(category_cap=CATEGORY_CAP)
    suite.baseline_sha256 = sha
    suite.baseline_label = f"asset {source.pk} ({len(frame)} rows, {timezone.now():%Y-%m-%dT%H:%M:%SZ})"


def quality_suite_create(*, actor: Actor | str, asset, name: str, reference_asset=None, **fields: Any) -> QualitySuite:
    require(actor, ADD, "quality suites")
    _visible_asset(actor, asset, "asset")
    _visible_asset(actor, reference_asset, "reference_asset")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    suite = QualitySuite(asset=asset, name=name, reference_asset=reference_asset, created_by=user_or_none(actor), **fields)
    _config(suite.checks)
    suite.full_clean(exclude=["baseline"])
    _baseline(suite)
    with transaction.atomic():
        suite.save()
        audit.record(
            actor=actor,
            action="monitoring.quality_suite_create",
            target=suite,
            details={
                "asset": asset.pk,
                "reference_asset": reference_asset.pk if reference_asset else None,
                "columns": len(suite.baseline["columns"]),
                "baseline_sha256": suite.baseline_sha256,
                "schedule_minutes": suite.schedule_minutes,
                "on_new_data": suite.on_new_data,
            },
        )
    return suite


def quality_suite_update(*, actor: Actor | str, suite: QualitySuite, rebaseline: bool = False, **fields: Any) -> QualitySuite:
    require(actor, CHANGE, "quality suites")
    _visible_asset(actor, suite.asset, "suite")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    suite = QualitySuite.objects.get(pk=suite.pk)
    changed = sorted(k for k, v in fields.items() if getattr(suite, k) != v)
    for k, v in fields.items():
        setattr(suite, k, v)
    _config(suite.checks)
    suite.full_clean(exclude=["baseline"])
    if rebaseline or "columns" in changed:
        _baseline(suite)
    with transaction.atomic():
        suite.save()
        audit.record(
            actor=actor,
            action="monitoring.quality_suite_update",
            target=suite,
            details={
                "fields": changed,
                "rebaselined": bool(rebaseline or "columns" in changed),
                "baseline_sha256": suite.baseline_sha256,
            },
        )
    return suite


def _message(r: QualityCheckResult) -> str:
    return f"data-quality check {r.name!r} failed: {r.score:.6g} against threshold {r.threshold:g}"


def _sync_alerts(*, actor: Actor | str, run: QualityRun, results: list[QualityCheckResult]) -> list[QualityAlert]:
    """Open (or refresh) an alert per failed check; resolve an unresolved alert whose check the run
    computed and passed (a not-checked row neither opens nor resolves). In the caller's transaction."""
    touched = []
    existing = {a.subject: a for a in QualityAlert.objects.select_for_update().filter(suite=run.suite, state__in=UNRESOLVED)}
    for r in results:
        if r.score is None:
            continue
        alert = existing.get(r.name)
        if r.flagged:
            if alert is None:
                alert = QualityAlert(
                    suite=run.suite, subject=r.name, message=_message(r), first_run=run, last_run=run, last_result=r
                )
                alert.full_clean()
                alert.save()
                audit.record(
                    actor=actor,
                    action="monitoring.quality_alert_open",
                    target=alert,
                    details={"suite": run.suite_id, "asset": run.suite.asset_id, "run": run.pk, "subject": alert.subject},
                )
            else:
                alert.last_run, alert.last_result, alert.message = run, r, _message(r)
                alert.save(update_fields=["last_run", "last_result", "message"])
            touched.append(alert)
        elif alert is not None:
            alert.state = AlertState.RESOLVED
            alert.resolved_at = timezone.now()
            alert.resolved_by = user_or_none(actor)
            alert.resolve_reason = f"quality run {run.pk} checked it again and it passed"
            alert.last_run = run
            alert.save(update_fields=["state", "resolved_at", "resolved_by", "resolve_reason", "last_run"])
            audit.record(
                actor=actor,
                action="monitoring.quality_alert_resolve",
                target=alert,
                reason=alert.resolve_reason,
                details={"suite": run.suite_id, "run": run.pk, "subject": alert.subject, "automatic": True},
            )
            touched.append(alert)
    return touched


def _result_row(r: QualityResult) -> QualityCheckResult:
    return QualityCheckResult(
        name=r.name,
        check_name=r.check,
        column=r.column or "",
        score=r.score,
        threshold=r.threshold,
        threshold_source=r.rule[:200],
        flagged=bool(r.failed),
        details=r.details,
    )


def quality_suite_run(*, actor: Actor | str, suite: QualitySuite, trigger: str = "manual", reason: str = "") -> QualityRun:
    """Check the asset's rows as they are now against the suite's baseline. The run row and
    ``monitoring.quality_run_start`` commit first; then either the results, alerts and
    ``monitoring.quality_run_finish`` in one transaction, or the failure and ``monitoring.quality_run_fail``
    (an unreadable asset is a failed run, not an exception). ``reason`` (the admin action asks for
    one) is recorded with the start event."""
    require(actor, ADD, "quality runs")
    _visible_asset(actor, suite.asset, "suite")
    suite = QualitySuite.objects.select_related("asset").get(pk=suite.pk)
    with transaction.atomic():
        run = QualityRun.objects.create(
            suite=suite,
            trigger=trigger,
            status=RunStatus.RUNNING,
            started_by=user_or_none(actor),
            started_at=timezone.now(),
            baseline_sha256=suite.baseline_sha256,
            library_versions=library_versions(),
        )
        audit.record(
            actor=actor,
            action="monitoring.quality_run_start",
            target=run,
            reason=(reason or "").strip(),
            details={"suite": suite.pk, "trigger": trigger},
        )
    marker = data_marker(suite.asset)
    try:
        frame, loc, sha = _read(suite.asset, "the")
        summary = ReferenceSummary.from_json(suite.baseline)
        features = list(suite.columns) or list(summary.columns)
        arrival = None
        if loc.path is not None and not loc.is_table:
            arrival = datetime.fromtimestamp(loc.path.stat().st_mtime, UTC)
        checks = run_checks(
            summary,
            frame,
            features=features,
            config=_config(suite.checks),
            newest_arrival=arrival,
            arrival_basis="file's modification time",
        )
    except (SuiteInputError, ValidationError, ValueError, OSError) as exc:
        text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        with transaction.atomic():
            run.mark_failed(text.splitlines()[0][:500] if text else type(exc).__name__)
            audit.record(actor=actor, action="monitoring.quality_run_fail", target=run, details={"suite": suite.pk})
        return run
    with transaction.atomic():
        rows = [_result_row(r) for r in checks]
        for r in rows:
            r.run = run
            r.full_clean(exclude=["run"])
        QualityCheckResult.objects.bulk_create(rows)
        results = list(run.results.all())
        run.rows = len(frame)
        run.current_sha256 = sha
        failed = sum(r.flagged for r in results)
        run.summary = {
            "checks": len(results),
            "failed": failed,
            "not_checked": sum(r.score is None for r in results),
            "columns": len(features),
        }
        run.save(update_fields=["rows", "current_sha256", "summary"])
        run.mark_succeeded()
        QualitySuite.objects.filter(pk=suite.pk).update(last_run_at=run.finished_at, data_marker=marker)
        alerts = _sync_alerts(actor=actor, run=run, results=results)
        audit.record(
            actor=actor,
            action="monitoring.quality_run_finish",
            target=run,
            details={
                "suite": suite.pk,
                "asset": suite.asset_id,
                "rows": run.rows,
                "checks": len(results),
                "failed": failed,
                "alerts": len(alerts),
                "current_sha256": sha,
                "baseline_sha256": suite.baseline_sha256,
            },
        )
    return run


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"a reason is required to {what} an alert"})
    return reason


def _visible_alert(actor: Actor | str, alert: QualityAlert) -> None:
    """The alert's suite must be one the actor may see (its asset and reference), whatever the caller:
    the API and pages scope their querysets, a direct call is refused here the same way."""
    _visible_asset(actor, alert.suite.asset, "alert")
    _visible_asset(actor, alert.suite.reference_asset, "alert")


def quality_alert_acknowledge(*, actor: Actor | str, alert: QualityAlert, reason: str) -> QualityAlert:
    require(actor, CHANGE, "alerts")
    reason = _reason(reason, "acknowledge")
    with transaction.atomic():
        alert = QualityAlert.objects.select_for_update().select_related("suite__asset").get(pk=alert.pk)
        _visible_alert(actor, alert)
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
            action="monitoring.quality_alert_acknowledge",
            target=alert,
            reason=reason,
            details={"suite": alert.suite_id, "subject": alert.subject},
        )
    return alert


def quality_alert_resolve(*, actor: Actor | str, alert: QualityAlert, reason: str) -> QualityAlert:
    require(actor, CHANGE, "alerts")
    reason = _reason(reason, "resolve")
    with transaction.atomic():
        alert = QualityAlert.objects.select_for_update().select_related("suite__asset").get(pk=alert.pk)
        _visible_alert(actor, alert)
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
            action="monitoring.quality_alert_resolve",
            target=alert,
            reason=reason,
            details={"suite": alert.suite_id, "subject": alert.subject, "automatic": False},
        )
    return alert


def suites_due(now: datetime | None = None) -> list[tuple[QualitySuite, str]]:
    """Active suites to run now, with the trigger: ``schedule`` when ``schedule_minutes`` passed since
    the last run, else ``new_data`` when ``on_new_data`` and the asset's file changed since it. A suite
    with a run started in the last hour and still running is left for a later tick."""
    from datetime import timedelta

    now = now or timezone.now()
    out = []
    busy = QualityRun.objects.filter(status=RunStatus.RUNNING, started_at__gt=now - timedelta(hours=1)).values("suite")
    for suite in QualitySuite.objects.filter(active=True).exclude(pk__in=busy).select_related("asset"):
        if suite.schedule_minutes and (
            suite.last_run_at is None or suite.last_run_at + timedelta(minutes=suite.schedule_minutes) <= now
        ):
            out.append((suite, "schedule"))
        elif suite.on_new_data:
            marker = data_marker(suite.asset)
            if marker and marker != suite.data_marker:
                out.append((suite, "new_data"))
    return out
