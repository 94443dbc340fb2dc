"""The data-quality evaluator of a monitor run (monitoring.stats.quality), one result per check."""

from __future__ import annotations

import pandas as pd

from monitoring.choices import ResultKind
from monitoring.models import LoggedBatch, Monitor, MonitorResult
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.quality import QualityConfig, QualityResult, ReferenceSummary, run_checks


def quality_result(q: QualityResult) -> MonitorResult:
    """One data-quality check as the (unsaved) result row every run path stores."""
    return MonitorResult(
        kind=ResultKind.QUALITY,
        name=q.name[:200],
        method=q.check,
        score=q.score,
        threshold=q.threshold,
        threshold_source=q.rule[:200],
        flagged=q.failed,
        details={**q.details, "column": q.column},
    )


def quality_results(
    monitor: Monitor, reference, current: pd.DataFrame, batches: list[LoggedBatch], outcome=None
) -> list[MonitorResult]:
    from .runs import feature_columns

    config = QualityConfig.from_json(monitor.quality_checks)
    features = feature_columns(monitor, reference)
    if reference.profile is not None:
        summary = ReferenceSummary.from_profile(reference.profile)
    else:
        present = [f for f in features if f in reference.frame.columns]
        summary = ReferenceSummary.from_frame(reference.frame, resolve_kinds(reference.frame, present, monitor.kinds or None))
    outputs = [monitor.prediction_column, monitor.probability_column, monitor.id_column, monitor.label_column]
    checks = run_checks(
        summary,
        current,
        features=features,
        config=config,
        ignore_added=[c for c in outputs if c],
        id_column=monitor.id_column,
        newest_arrival=max(b.received_at for b in batches) if batches else None,
    )
    return [quality_result(q) for q in checks]
