"""``monitor_run`` (ADD): one run of a monitor over its current window, with results, alerts and audit.

The window is the prediction batches named, or by default those logged for the model version since the
monitor's last successful run. The run row is written first (status running, audited), the statistics are
computed outside any transaction, then results, the run's outcome, the alerts it opens or resolves and
their audit events are written in one transaction. A failure on bad data leaves a failed run whose
``error`` names what was wrong (columns, rules), never values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import ADD, require
from audit import services as audit
from compliance import datasets
from core.choices import RunStatus
from core.types import Actor
from monitoring.choices import BatchKind, ResultKind
from monitoring.data import read_typed_frame
from monitoring.models import LoggedBatch, Monitor, MonitorResult, MonitorRun, window_q
from monitoring.stats.drift import ColumnDrift, DatasetDrift, _skipped, column_drift, dist_of, drift_frames, resolve_kinds
from monitoring.stats.kinds import DRIFT_KINDS, ColumnKind
from monitoring.stats.profile import CATEGORY_CAP, CategoricalProfile, DatasetProfile, drift_against_profile

from ._common import check_visible, digest_of, drift_options, library_versions, user_or_none
from .alerts import sync_alerts


class RunInputError(ValueError):
    """The data cannot be evaluated (a column missing, no rows); the message names no value."""


class NothingToRun(ValidationError):
    """No logged predictions since the monitor's last successful run."""


@dataclass
class Reference:
    label: str
    sha256: str
    frame: pd.DataFrame | None = None
    profile: DatasetProfile | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns) if self.frame is not None else list(self.profile.columns)


@dataclass
class Outcome:
    results: list[MonitorResult] = field(default_factory=list)
    dataset_drift: bool | None = None
    share_drifted: float | None = None
    summary: dict = field(default_factory=dict)


def new_batches(monitor: Monitor) -> list[LoggedBatch]:
    """Prediction batches of the monitor's model version not covered by its last successful window run
    (a ``fairness`` run is no window: ``models.window_q``)."""
    last = monitor.runs.filter(window_q()).order_by("-created_at", "-id").first()
    after = max(last.batch_ids) if last is not None and last.batch_ids else 0
    return list(
        LoggedBatch.objects.filter(model_version=monitor.model_version, kind=BatchKind.PREDICTIONS, pk__gt=after).order_by("pk")
    )


def frame_sha256(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def load_reference(monitor: Monitor, columns: list[str] | None = None) -> Reference:
    if monitor.reference_profile_id:
        p = monitor.reference_profile
        return Reference(f"profile {p.pk}", p.dataset_sha256, profile=DatasetProfile.from_json(p.profile))
    try:
        frame = read_typed_frame(datasets.resolve_asset(monitor.reference_asset), columns=columns)
    except datasets.LocationRefused as exc:
        raise RunInputError(f"the reference asset {monitor.reference_asset_id}: {exc.messages[0]}") from None
    except datasets.ReadError as exc:
        raise RunInputError(f"the reference could not be read: {type(exc).__name__}") from None
    return Reference(f"asset {monitor.reference_asset_id}", frame_sha256(frame), frame=frame)


def load_batches(batches: list[LoggedBatch], columns: list[str] | None = None) -> pd.DataFrame:
    """The batches' rows, concatenated; ``columns``: only those (a batch without one of them lacks it)."""
    frames = []
    for b in batches:
        try:
            wanted = None if columns is None else [c for c in columns if c in b.columns]
            frames.append(read_typed_frame(b.location, columns=wanted))
        except datasets.LocationRefused as exc:
            raise RunInputError(f"logged batch {b.pk}: {exc.messages[0]}") from None
        except (datasets.ReadError, OSError) as exc:
            raise RunInputError(f"logged batch {b.pk} could not be read: {type(exc).__name__}") from None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def feature_columns(monitor: Monitor, reference: Reference) -> list[str]:
    if monitor.columns:
        return list(monitor.columns)
    outputs = {monitor.prediction_column, monitor.probability_column, monitor.id_column, monitor.label_column}
    return [c for c in reference.columns if c not in outputs]


def drift_results(report: DatasetDrift) -> list[MonitorResult]:
    out = []
    for c in report.columns:
        details = {
            "kind": c.kind,
            "n_ref": c.n_ref,
            "n_cur": c.n_cur,
            "n_ref_missing": c.n_ref_missing,
            "n_cur_missing": c.n_cur_missing,
            "score_kind": c.score_kind,
            "selection": c.selection,
            "binning": c.binning,
            "approximate": c.approximate,
            "corrected_threshold": c.corrected_threshold,
        }
        if c.skipped:
            details["skipped"] = c.skipped
        score = None if c.score is None or pd.isna(c.score) else float(c.score)
        out.append(
            MonitorResult(
                kind=ResultKind.DRIFT,
                name=c.name,
                method=c.method or "",
                score=score,
                threshold=c.threshold,
                threshold_source=c.threshold_source or (f"not checked: {c.skipped}"[:200] if c.skipped else ""),
                flagged=bool(c.drifted),
                details=details,
            )
        )
    out.append(
        MonitorResult(
            kind=ResultKind.DATASET_DRIFT,
            name="dataset",
            method=f"share of drifted features ({report.correction} correction)",
            score=float(report.share_drifted),
            threshold=float(report.drift_share),
            threshold_source="monitor's drift_share" if report.drift_share != 0.5 else "Evidently default (0.5)",
            flagged=bool(report.dataset_drift),
            details={"columns": report.number_of_columns, "drifted": report.number_of_drifted_columns},
        )
    )
    return out


def _extra_evaluators() -> list:
    """Evaluators after drift: (monitor, reference, current frame, batches, outcome so far) -> results."""
    from .multivariate import multivariate_results
    from .performance import performance_results
    from .quality import quality_results

    return [multivariate_results, quality_results, performance_results]


def monitor_drift(monitor: Monitor, reference: Reference, current: pd.DataFrame) -> DatasetDrift:
    """The per-feature drift report of ``current`` against the monitor's reference, with its options."""
    columns = feature_columns(monitor, reference)
    missing = [c for c in columns if c not in current.columns]
    if missing:
        raise RunInputError(f"the logged data has no column(s) {', '.join(missing)}")
    options = drift_options(monitor.drift_options)
    if reference.profile is not None:
        return drift_against_profile(reference.profile, current, columns=columns, options=options)
    absent = [c for c in columns if c not in reference.frame.columns]
    if absent:
        raise RunInputError(f"the reference has no column(s) {', '.join(absent)}")
    return drift_frames(reference.frame, current, columns=columns, kinds=monitor.kinds or None, options=options)


def evaluate(monitor: Monitor, reference: Reference, current: pd.DataFrame, batches: list[LoggedBatch]) -> Outcome:
    columns = feature_columns(monitor, reference)
    report = monitor_drift(monitor, reference, current)
    outcome = Outcome(drift_results(report), bool(report.dataset_drift), float(report.share_drifted))
    for evaluator in _extra_evaluators():
        outcome.results.extend(evaluator(monitor, reference, current, batches, outcome))
    outcome.summary = {
        "features": len(columns),
        "drifted": report.number_of_drifted_columns,
        "flagged": sum(r.flagged for r in outcome.results),
        "results": len(outcome.results),
    }
    return outcome


def reference_kinds(monitor: Monitor, reference: Reference, features: list[str]) -> dict[str, ColumnKind]:
    """The kinds the one-worker report gives ``features``: the profile's, or declared/inferred on the reference."""
    if reference.profile is not None:
        kinds = reference.profile.kinds()
        missing = [f for f in features if f not in kinds and f not in reference.profile.skipped]
        if missing:
            raise RunInputError(f"the reference profile has no column(s) {', '.join(missing)}")
        return {f: kinds[f] if f in kinds else ColumnKind(reference.profile.skipped[f]) for f in features}
    absent = [c for c in features if c not in reference.frame.columns]
    if absent:
        raise RunInputError(f"the reference has no column(s) {', '.join(absent)}")
    return resolve_kinds(reference.frame, features, monitor.kinds or None)


@dataclass(frozen=True)
class CurrentSide:
    """The current data of a drift check, from rows or from running statistics: ``dist(name, kind)`` a
    feature's distribution, ``count(name)`` its non-missing values (for a feature of a kind without a test)."""

    dist: Callable[[str, ColumnKind], object]
    count: Callable[[str], int]

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> CurrentSide:
        def dist(name: str, kind: ColumnKind):
            if name not in frame.columns:
                raise RunInputError(f"the logged data has no column(s) {name}")
            return dist_of(frame[name], kind)

        return cls(dist, lambda name: int(frame[name].count()) if name in frame.columns else 0)


def column_drifts(monitor: Monitor, reference: Reference, features: list[str], current: CurrentSide) -> list[ColumnDrift]:
    """Each feature's drift (no multiple-testing correction yet: ``dataset_drift`` applies it over all
    features), the current side from rows or from running statistics. The same per-column steps as
    ``drift_frames`` and ``drift_against_profile``."""
    options = drift_options(monitor.drift_options)
    kinds = reference_kinds(monitor, reference, features)
    out = []
    for name in features:
        kind = kinds[name]
        if reference.profile is not None:
            ref_p = reference.profile.columns.get(name)
            if ref_p is None:  # a kind the profile keeps no statistics of: said in the row, not dropped
                base = {"name": name, "kind": kind.value, "n_ref": reference.profile.rows, "n_cur": current.count(name)}
                out.append(_skipped(base, f"{kind.value} columns get no drift test (n_ref: the profile's rows)"))
                continue
            cur = current.dist(name, kind)
            if isinstance(ref_p, CategoricalProfile) and ref_p.overflow:
                base = {"name": name, "kind": kind.value, "n_ref": ref_p.n, "n_cur": cur.n}
                out.append(_skipped(base, f"more than {CATEGORY_CAP} categories"))
                continue
            out.append(column_drift(name, kind, ref_p.dist(), cur, options))
            continue
        if kind not in DRIFT_KINDS:
            base = {"name": name, "kind": kind.value, "n_ref": int(reference.frame[name].count()), "n_cur": current.count(name)}
            out.append(_skipped(base, f"{kind.value} columns get no drift test"))
            continue
        out.append(column_drift(name, kind, dist_of(reference.frame[name], kind), current.dist(name, kind), options))
    return out


def start_run(
    *, actor: Actor | str, monitor: Monitor, batches: list[LoggedBatch], trigger: str, extra: dict | None = None
) -> MonitorRun:
    """The run row (status running) and its ``monitoring.run_start`` event, committed."""
    with transaction.atomic():
        run = MonitorRun.objects.create(
            monitor=monitor,
            trigger=trigger,
            status=RunStatus.RUNNING,
            started_by=user_or_none(actor),
            started_at=timezone.now(),
            batch_ids=[b.pk for b in batches],
            rows=sum(b.rows for b in batches),
            current_sha256=digest_of(sorted(b.sha256 for b in batches)),
            library_versions=library_versions(),
        )
        audit.record(
            actor=actor,
            action="monitoring.run_start",
            target=run,
            details={"monitor": monitor.pk, "batches": len(batches), "rows": run.rows, "trigger": trigger, **(extra or {})},
        )
    return run


def fail_run(*, actor: Actor | str, run: MonitorRun, exc: Exception) -> MonitorRun:
    text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
    message = text.splitlines()[0][:500]
    with transaction.atomic():
        run.mark_failed(message)
        audit.record(actor=actor, action="monitoring.run_fail", target=run, details={"monitor": run.monitor_id})
    return run


def finish_run(
    *, actor: Actor | str, run: MonitorRun, reference: Reference, outcome: Outcome, extra: dict | None = None
) -> MonitorRun:
    """Results, the run's outcome, its alerts and ``monitoring.run_finish``, in the caller's transaction
    when there is one (a chunk update holds its monitor's lock)."""
    monitor = run.monitor
    with transaction.atomic():
        for r in outcome.results:
            r.run = run
            r.full_clean(exclude=["run"])
        MonitorResult.objects.bulk_create(outcome.results)
        run.reference_label = reference.label
        run.dataset_drift = outcome.dataset_drift
        run.share_drifted = outcome.share_drifted
        run.summary = {**outcome.summary, "reference_sha256": reference.sha256, **(extra or {})}
        run.save(update_fields=["reference_label", "dataset_drift", "share_drifted", "summary"])
        run.mark_succeeded()
        Monitor.objects.filter(pk=monitor.pk).update(last_run_at=run.finished_at)
        results = list(run.results.all())
        alerts = sync_alerts(actor=actor, run=run, results=results)
        audit.record(
            actor=actor,
            action="monitoring.run_finish",
            target=run,
            details={
                "monitor": monitor.pk,
                "results": len(results),
                "flagged": outcome.summary["flagged"],
                "dataset_drift": bool(outcome.dataset_drift),
                "alerts": len(alerts),
                "current_sha256": run.current_sha256,
                "reference_sha256": reference.sha256,
            },
        )
    return run


def monitor_run(
    *,
    actor: Actor | str,
    monitor: Monitor,
    batches: list[LoggedBatch] | None = None,
    trigger: str = "manual",
    fan_out: bool | None = None,
) -> MonitorRun:
    """Run ``monitor`` over ``batches`` (default: the new ones); returns the finished (or failed) run.

    A window of at least ``fanout.FAN_OUT_ROWS`` rows (or ``fan_out=True``) is fanned out over the
    workers (monitoring.services.fanout): the run is returned running and the last part finishes it."""
    require(actor, ADD, "monitor runs")
    check_visible(actor, model_version=monitor.model_version, asset=monitor.reference_asset)
    batches = list(batches) if batches is not None else new_batches(monitor)
    if not batches:
        raise NothingToRun("no logged predictions since the monitor's last run")
    if any(b.model_version_id != monitor.model_version_id or b.kind != BatchKind.PREDICTIONS for b in batches):
        raise ValidationError("a run covers prediction batches of the monitor's own model version")
    from . import fanout

    if fan_out is None:
        fan_out = sum(b.rows for b in batches) >= fanout.FAN_OUT_ROWS
    run = start_run(actor=actor, monitor=monitor, batches=batches, trigger=trigger, extra={"fan_out": True} if fan_out else None)
    if fan_out:
        return fanout.run_split(actor=actor, run=run)
    try:
        reference = load_reference(monitor)
        current = load_batches(batches)
        outcome = evaluate(monitor, reference, current, batches)
    except (RunInputError, ValueError, ValidationError) as exc:  # LocationRefused is a ValidationError
        return fail_run(actor=actor, run=run, exc=exc)
    return finish_run(actor=actor, run=run, reference=reference, outcome=outcome)
