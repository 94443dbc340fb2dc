"""Reads of the monitoring app, always scoped by ``restrict(user, action)`` (MonitoringQuerySet)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.permissions import VIEW
from core.types import Actor

from .models import (
    Alert,
    LoggedBatch,
    Monitor,
    MonitorResult,
    MonitorRun,
    QualityAlert,
    QualityCheckResult,
    QualityRun,
    QualitySuite,
    ReferenceProfile,
    window_q,
)


def monitor_list(*, user: Actor) -> QuerySet[Monitor]:
    return Monitor.objects.restrict(user, VIEW).select_related("model_version", "model_version__model")


def reference_profile_list(*, user: Actor) -> QuerySet[ReferenceProfile]:
    return ReferenceProfile.objects.restrict(user, VIEW).select_related("model_version").defer("profile")


def batch_list(*, user: Actor) -> QuerySet[LoggedBatch]:
    return LoggedBatch.objects.restrict(user, VIEW).select_related("model_version")


def run_list(*, user: Actor) -> QuerySet[MonitorRun]:
    return MonitorRun.objects.restrict(user, VIEW).select_related("monitor")


def result_list(*, user: Actor) -> QuerySet[MonitorResult]:
    return MonitorResult.objects.restrict(user, VIEW).select_related("run")


def alert_list(*, user: Actor) -> QuerySet[Alert]:
    return Alert.objects.restrict(user, VIEW).select_related("monitor")


def result_history(*, monitor: Monitor, kind: str, name: str, limit: int = 200) -> list[tuple[MonitorRun, MonitorResult]]:
    """The monitor's last ``limit`` successful runs that scored ``name`` (oldest first), with the result."""
    rows = list(
        MonitorResult.objects.filter(run__monitor=monitor, run__status="succeeded", kind=kind, name=name, score__isnull=False)
        .select_related("run")
        .order_by("-run__finished_at", "-run_id")[:limit]
    )
    return [(r.run, r) for r in reversed(rows)]


def feature_distribution(*, monitor: Monitor, feature: str, max_categories: int = 20):
    """(labels, reference shares, current shares) of ``feature``: the reference (asset or stored profile)
    against the prediction batches of the monitor's latest successful run, read through compliance.datasets.
    None when there is no such run or the feature is not profiled."""
    import numpy as np
    import pandas as pd

    from monitoring.plots import numeric_histograms
    from monitoring.services.runs import load_batches, load_reference
    from monitoring.stats.kinds import ColumnKind, infer_kind
    from monitoring.stats.profile import CategoricalProfile, NumericProfile

    run = monitor.runs.filter(window_q()).order_by("-finished_at", "-id").first()
    if run is None:
        return None
    batches = list(LoggedBatch.objects.filter(pk__in=run.batch_ids).order_by("pk"))
    current = load_batches(batches) if batches else None
    if current is None or feature not in current.columns:
        return None
    cur = current[feature].dropna()
    reference = load_reference(monitor, columns=None)
    if reference.profile is not None:
        prof = reference.profile.columns.get(feature)
        if isinstance(prof, NumericProfile):
            d = prof.dist()
            edges, r, c = numeric_histograms(d.values, d.counts, cur.to_numpy(float), None)
            return [f"{e:.3g}" for e in edges[:-1]], r.tolist(), c.tolist()
        if isinstance(prof, CategoricalProfile):
            ref_counts = pd.Series(prof.counts, dtype=float)
        else:
            return None
    else:
        if feature not in reference.frame.columns:
            return None
        ref = reference.frame[feature].dropna()
        if infer_kind(reference.frame[feature]) == ColumnKind.NUMERICAL:
            edges, r, c = numeric_histograms(ref.to_numpy(float), None, cur.to_numpy(float), None)
            return [f"{e:.3g}" for e in edges[:-1]], r.tolist(), c.tolist()
        ref_counts = ref.value_counts().astype(float)
    cur_counts = cur.value_counts().astype(float)
    keys = list(ref_counts.add(cur_counts, fill_value=0).sort_values(ascending=False).index[:max_categories])
    r = np.array([ref_counts.get(k, 0.0) for k in keys]) / max(ref_counts.sum(), 1.0)
    c = np.array([cur_counts.get(k, 0.0) for k in keys]) / max(cur_counts.sum(), 1.0)
    return [str(k) for k in keys], r.tolist(), c.tolist()


def quality_suite_list(*, user: Actor) -> QuerySet[QualitySuite]:
    return QualitySuite.objects.restrict(user, VIEW).select_related("asset")


def quality_run_list(*, user: Actor) -> QuerySet[QualityRun]:
    return QualityRun.objects.restrict(user, VIEW).select_related("suite")


def quality_result_list(*, user: Actor) -> QuerySet[QualityCheckResult]:
    return QualityCheckResult.objects.restrict(user, VIEW).select_related("run")


def quality_alert_list(*, user: Actor) -> QuerySet[QualityAlert]:
    return QualityAlert.objects.restrict(user, VIEW).select_related("suite")
