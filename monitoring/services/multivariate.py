"""The multivariate evaluator of a monitor run: PCA reconstruction error (monitoring.stats.multivariate)
of the whole window against the reference, judged by the band for a chunk of the window's size.

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
from monitoring.stats.multivariate import pca_reconstruction

MAX_REFERENCE_ROWS = 200_000
MIN_ROWS = 50


def multivariate_results(monitor: Monitor, reference, current: pd.DataFrame, batches, outcome=None) -> list[MonitorResult]:
    from .runs import feature_columns

    if reference.frame is None or len(current) < MIN_ROWS:
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
