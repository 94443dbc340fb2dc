"""A monitor run over a large window, fanned out over the workers (as scans fan out their chunks).

``run_split`` cuts the run into parts: part 0 is the *joint* part (the checks that need every feature
at once: schema, uniqueness, row count and freshness, multivariate drift, realized and estimated
performance, concept drift), parts 1.. each take a group of feature columns and read only those columns
of the reference and of the window (column projection through compliance.datasets) for their drift
tests and per-column data-quality checks (null share, out of range, new categories). Each part is a
``monitoring.run_part`` task on whichever worker takes it; its outcome is stored on its
``MonitorRunPart`` row, and the last part to finish merges them: the dataset-drift decision and any
multiple-testing correction are applied over all features at the merge, so the results are the ones
one worker computes for the same window (tests/monitoring/test_fanout.py compares them).

With ``acks_late`` a part whose worker died is redelivered and recomputed; its outcome is stored once
(a done part is not redone), and the merge runs once under the run's row lock.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit import services as audit
from compliance import datasets
from core.choices import RunStatus
from core.types import Actor
from monitoring.models import LoggedBatch, MonitorResult, MonitorRun, MonitorRunPart
from monitoring.stats.concept import concept_drift_suspected
from monitoring.stats.drift import ColumnDrift, dataset_drift
from monitoring.stats.quality import QualityConfig, QualityResult, ReferenceSummary, run_checks

from ._common import drift_options
from .quality import quality_result
from .runs import (
    CurrentSide,
    Outcome,
    Reference,
    RunInputError,
    column_drifts,
    drift_results,
    fail_run,
    feature_columns,
    finish_run,
    load_batches,
    load_reference,
    reference_kinds,
)

FAN_OUT_ROWS = 500_000  # windows of at least this many rows fan out by default
COLUMN_PARTS = 8  # feature-column parts (plus the joint part)
JOINT_CHECKS = ("schema", "uniqueness", "row_count", "freshness")
SYSTEM_ACTOR = "system:monitoring"


def _actor(run: MonitorRun) -> Actor | str:
    return run.started_by or SYSTEM_ACTOR


def _clean(value: Any) -> Any:
    """JSON without NaN or infinities (PostgreSQL's jsonb refuses them): those become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _features(run: MonitorRun) -> list[str]:
    monitor = run.monitor
    if monitor.columns:
        return list(monitor.columns)
    if monitor.reference_profile_id:
        columns = list(monitor.reference_profile.profile["columns"]) + list(monitor.reference_profile.profile.get("skipped", {}))
    else:
        columns = [c.name for c in datasets.read_schema(datasets.resolve_asset(monitor.reference_asset))]
    outputs = {monitor.prediction_column, monitor.probability_column, monitor.id_column, monitor.label_column}
    return [c for c in columns if c not in outputs]


def run_split(*, actor: Actor | str, run: MonitorRun, parts: int | None = None) -> MonitorRun:
    """Cut ``run`` (running, its window named) into parts (``COLUMN_PARTS`` column groups by default,
    plus the joint part) and enqueue one task per part after the commit."""
    parts = parts or COLUMN_PARTS
    try:
        features = _features(run)
    except (datasets.ReadError, ValidationError, ValueError, OSError) as exc:
        return fail_run(actor=actor, run=run, exc=RunInputError(f"the reference could not be read: {type(exc).__name__}"))
    size = max(1, math.ceil(len(features) / max(parts, 1)))
    groups = [features[i : i + size] for i in range(0, len(features), size)]
    with transaction.atomic():
        MonitorRunPart.objects.bulk_create(
            [MonitorRunPart(run=run, index=i, columns=cols) for i, cols in enumerate([[], *groups])]
        )
        audit.record(
            actor=actor,
            action="monitoring.run_fan_out",
            target=run,
            details={"monitor": run.monitor_id, "parts": len(groups) + 1, "features": len(features)},
        )
        from monitoring import tasks

        run_id, count = run.pk, len(groups) + 1
        transaction.on_commit(lambda: [tasks.run_part.delay(run_id, i) for i in range(count)])
    run.refresh_from_db()
    return run


def _result_json(r: MonitorResult) -> dict:
    return _clean(
        {
            "kind": r.kind,
            "name": r.name,
            "method": r.method,
            "score": r.score,
            "threshold": r.threshold,
            "threshold_source": r.threshold_source,
            "flagged": r.flagged,
            "details": r.details,
        }
    )


def _quality_json(q: QualityResult) -> dict:
    return _result_json(quality_result(q))


def _only(config: QualityConfig, names) -> QualityConfig:
    return QualityConfig({k: (v if k in names else None) for k, v in config.checks.items()})


def _summary(monitor, reference: Reference, kinds) -> ReferenceSummary:
    if reference.profile is not None:
        return ReferenceSummary.from_profile(reference.profile)
    return ReferenceSummary.from_frame(reference.frame, {f: k for f, k in kinds.items() if f in reference.frame.columns})


def _compute(run: MonitorRun, part: MonitorRunPart, batches: list[LoggedBatch]) -> dict:
    from .multivariate import multivariate_results
    from .performance import performance_results

    monitor = run.monitor
    config = QualityConfig.from_json(monitor.quality_checks)
    outputs = [c for c in (monitor.prediction_column, monitor.probability_column, monitor.id_column, monitor.label_column) if c]
    if part.columns:  # a group of features: their columns only
        features = list(part.columns)
        reference = load_reference(monitor, columns=features if monitor.reference_asset_id else None)
        current = load_batches(batches, columns=features)
        missing = [f for f in features if f not in current.columns]
        if missing:
            raise RunInputError(f"the logged data has no column(s) {', '.join(missing)}")
        kinds = reference_kinds(monitor, reference, features)
        drifts = column_drifts(monitor, reference, features, CurrentSide.of_frame(current))
        checks = run_checks(
            _summary(monitor, reference, kinds),
            current,
            features=features,
            config=_only(config, ("null_share", "out_of_range", "new_categories")),
            id_column=monitor.id_column,
        )
        return {"drift": [_clean(c.as_dict()) for c in drifts], "quality": [_quality_json(q) for q in checks]}
    # the joint part: every column
    reference = load_reference(monitor)
    current = load_batches(batches)
    features = feature_columns(monitor, reference)
    missing = [c for c in features if c not in current.columns]
    if missing:
        raise RunInputError(f"the logged data has no column(s) {', '.join(missing)}")
    kinds = reference_kinds(monitor, reference, features)
    checks = run_checks(
        _summary(monitor, reference, kinds),
        current,
        features=features,
        config=_only(config, JOINT_CHECKS),
        ignore_added=outputs,
        id_column=monitor.id_column,
        newest_arrival=max(b.received_at for b in batches),
    )
    before = [q for q in checks if q.check == "schema"]
    after = [q for q in checks if q.check != "schema"]
    return {
        "reference": {"label": reference.label, "sha256": reference.sha256},
        "features": len(features),
        "quality_before": [_quality_json(q) for q in before],
        "quality_after": [_quality_json(q) for q in after],
        "multivariate": [_result_json(r) for r in multivariate_results(monitor, reference, current, batches)],
        "performance": [_result_json(r) for r in performance_results(monitor, reference, current, batches, None)],
    }


def run_part_execute(*, run_id: int, index: int) -> MonitorRunPart | None:
    """Compute one part and store it once; the last part to finish merges the run."""
    part = MonitorRunPart.objects.select_related("run__monitor").filter(run_id=run_id, index=index).first()
    if part is None:
        return None
    run = part.run
    if part.done or run.status != RunStatus.RUNNING:
        if run.status == RunStatus.RUNNING:
            run_merge(run_id=run_id)
        return part
    with transaction.atomic():
        MonitorRunPart.objects.filter(pk=part.pk).update(attempts=part.attempts + 1)
    started = time.perf_counter()
    batches = list(LoggedBatch.objects.filter(pk__in=run.batch_ids).order_by("pk"))
    try:
        result = _compute(run, part, batches)
    except (RunInputError, ValueError, ValidationError, OSError) as exc:  # LocationRefused is a ValidationError
        with transaction.atomic():
            run = MonitorRun.objects.select_for_update().get(pk=run_id)
            if run.status == RunStatus.RUNNING:
                fail_run(actor=_actor(run), run=run, exc=exc)
        return part
    with transaction.atomic():
        part = MonitorRunPart.objects.select_for_update().get(pk=part.pk)
        if part.done:
            return part
        part.done, part.result, part.seconds = True, result, round(time.perf_counter() - started, 3)
        part.save(update_fields=["done", "result", "seconds"])
    run_merge(run_id=run_id)
    return part


def run_merge(*, run_id: int) -> MonitorRun:
    """Merge the parts' outcomes into the run once every part is done (runs once, under the run's lock)."""
    with transaction.atomic():
        run = MonitorRun.objects.select_for_update(of=("self",)).select_related("monitor", "started_by").get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.parts.filter(done=False).exists():
            return run
        parts = list(run.parts.order_by("index"))
        joint, groups = parts[0].result, [p.result for p in parts[1:]]
        monitor = run.monitor
        columns = [ColumnDrift(**d) for g in groups for d in g["drift"]]
        columns = [c if c.skipped or c.score is not None else _nan_score(c) for c in columns]
        report = dataset_drift(columns, drift_options(monitor.drift_options))
        outcome = Outcome(drift_results(report), bool(report.dataset_drift), float(report.share_drifted))
        rebuilt = [MonitorResult(**r) for r in joint["multivariate"]]
        rebuilt += [MonitorResult(**r) for r in joint["quality_before"]]
        rebuilt += [MonitorResult(**r) for g in groups for r in g["quality"]]
        rebuilt += [MonitorResult(**r) for r in joint["quality_after"]]
        for r in joint["performance"]:
            result = MonitorResult(**r)
            if result.name == "performance_without_input_drift":
                suspected = concept_drift_suspected(
                    performance_failed=bool(result.details.get("performance_failed")), dataset_drift=bool(report.dataset_drift)
                )
                result.score, result.flagged = (1.0 if suspected else 0.0), suspected
            rebuilt.append(result)
        outcome.results += rebuilt
        outcome.summary = {
            "features": joint["features"],
            "drifted": report.number_of_drifted_columns,
            "flagged": sum(r.flagged for r in outcome.results),
            "results": len(outcome.results),
        }
        reference = Reference(joint["reference"]["label"], joint["reference"]["sha256"])
        seconds = sum(p.seconds or 0.0 for p in parts)
        return finish_run(
            actor=_actor(run), run=run, reference=reference, outcome=outcome, extra={"parts": len(parts), "part_seconds": seconds}
        )


def _nan_score(c: ColumnDrift) -> ColumnDrift:
    from dataclasses import replace

    return replace(c, score=float("nan"))
