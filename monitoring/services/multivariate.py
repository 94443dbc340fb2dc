"""The multivariate evaluator of a monitor run, the methods of ``Monitor.multivariate_methods``
(monitoring.stats.multivariate): PCA reconstruction error of the whole window against the reference,
judged by the band for a chunk of the window's size, and/or the domain classifier's cross-validated
AUROC, drift outside [0.45, 0.65].

Needs the reference's rows (a reference asset; a stored profile keeps no joint distribution) and at
least two features. The reference is cut into 10 chunks (NannyML's default) and sampled down to
``MAX_REFERENCE_ROWS`` rows first (seeded) so a run stays quick on a large reference.
"""

from __future__ import annotations

import pandas as pd

from monitoring.choices import ResultKind
from monitoring.models import Monitor, MonitorResult
from monitoring.stats.chunks import Chunk, Chunking, make_chunks
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.kinds import ColumnKind
from monitoring.stats.multivariate import AUROC_BAND, domain_classifier, pca_reconstruction

MAX_REFERENCE_ROWS = 200_000
MIN_ROWS = 50
CLASSIFIER_ROWS = 20_000  # rows of each side the domain classifier learns from (NannyML samples too)


def multivariate_results(monitor: Monitor, reference, current: pd.DataFrame, batches, outcome=None) -> list[MonitorResult]:
    from .runs import feature_columns

    if reference.frame is None or len(current) < MIN_ROWS or not monitor.multivariate_methods:
        return []
    features = [f for f in feature_columns(monitor, reference) if f in reference.frame.columns and f in current.columns]
    kinds = resolve_kinds(reference.frame, features, monitor.kinds or None)
    numeric = [f for f, k in kinds.items() if k == ColumnKind.NUMERICAL]
    categorical = [f for f, k in kinds.items() if k == ColumnKind.CATEGORICAL]
    if len(numeric) + len(categorical) < 2:
        return []
    ref = reference.frame[numeric + categorical]
    if len(ref) > MAX_REFERENCE_ROWS:
        ref = ref.sample(n=MAX_REFERENCE_ROWS, random_state=0).reset_index(drop=True)
    cur = current[numeric + categorical].reset_index(drop=True)
    methods = list(monitor.multivariate_methods)
    out: list[MonitorResult] = []
    if "pca_reconstruction" in methods:
        out += _pca(ref, cur, numeric, categorical)
    if "domain_classifier" in methods:
        out += _domain_classifier(ref, cur, numeric, categorical)
    return out


def _pca(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]) -> list[MonitorResult]:
    try:
        res = pca_reconstruction(
            ref,
            cur,
            numeric=numeric,
            categorical=categorical,
            reference_chunks=make_chunks(ref),
            current_chunks=Chunking([Chunk("window", 0, len(cur))], []),
        )
    except (ValueError, TypeError):
        return []  # e.g. a constant reference column: no principal components to fit
    band = res.bands[0]
    return [
        MonitorResult(
            kind=ResultKind.MULTIVARIATE,
            name="pca_reconstruction",
            method="pca_reconstruction",
            score=float(res.current[0]),
            threshold=float(band.upper),
            threshold_source="reference mean error + 3 standard errors for a chunk of the window's rows",
            flagged=bool(res.alerts[0]),
            details={
                "lower": band.lower,
                "upper": band.upper,
                "reference_mean": band.mean,
                "standard_error": band.std,
                "components": res.components,
                "features": len(numeric) + len(categorical),
                "reference_rows": len(ref),
                "rows": len(cur),
            },
        )
    ]


def _domain_classifier(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str]) -> list[MonitorResult]:
    """Cross-validated AUROC of a classifier telling the window's rows from the reference's (both sampled
    to ``CLASSIFIER_ROWS``, seeded); drift outside NannyML's [0.45, 0.65]."""
    sample = cur.sample(n=CLASSIFIER_ROWS, random_state=0).reset_index(drop=True) if len(cur) > CLASSIFIER_ROWS else cur
    try:
        res = domain_classifier(
            ref,
            sample,
            numeric=numeric,
            categorical=categorical,
            current_chunks=Chunking([Chunk("window", 0, len(sample))], []),
            max_reference_rows=CLASSIFIER_ROWS,
        )
    except (ValueError, TypeError):
        return []  # e.g. too few rows for five stratified folds
    low, high = AUROC_BAND
    return [
        MonitorResult(
            kind=ResultKind.MULTIVARIATE,
            name="domain_classifier",
            method="domain_classifier",
            score=float(res.current[0]),
            threshold=float(high),
            threshold_source=f"NannyML's constant band: AUROC outside [{low:g}, {high:g}]",
            flagged=bool(res.alerts[0]),
            details={
                "lower": low,
                "upper": high,
                "folds": 5,
                "features": len(numeric) + len(categorical),
                "reference_rows": min(len(ref), CLASSIFIER_ROWS),
                "rows": len(sample),
                "window_rows": len(cur),
            },
        )
    ]
