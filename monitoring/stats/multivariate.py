"""Multivariate drift, NannyML's two methods.

- PCA reconstruction error: missing values imputed (reference mean; most frequent category),
  categories frequency-encoded from the reference, all standardised with the reference's scaler, then a
  PCA keeping 65 % of the variance is fitted on the reference; a row's error is the Euclidean distance
  between it and its reconstruction, a chunk's the mean over its rows. Alert band: the reference's mean
  error +/- 3 standard errors *for the chunk's own row count*: a chunk mean's spread shrinks as 1/sqrt(rows),
  so one band measured on reference chunks of another size is too narrow (or too wide) for the current
  chunks (the default 10 chunks of a 20,000-row reference are twice the size of a 10,000-row current's).
  The standard error is the larger of the row-level one (std of the reference rows' errors / sqrt(rows),
  estimated from every reference row) and the spread of the reference chunk means rescaled to the chunk's
  rows (NannyML's mean +/- 3 std; it keeps between-chunk variation such as seasonality in the band).
- Domain classifier: for each chunk, a gradient-boosting classifier tries to tell reference rows from the
  chunk's rows; its cross-validated AUROC (5 stratified folds) is the score. Alert outside [0.45, 0.65]
  (NannyML's constant thresholds): near 0.5 means the chunk cannot be told apart from the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from .chunks import BAND_SIGMAS, Band, Chunking, band_from

PCA_VARIANCE = 0.65
AUROC_BAND = (0.45, 0.65)


@dataclass
class _Encoder:
    numeric: list[str]
    categorical: list[str]
    means: dict
    modes: dict
    freqs: dict

    @classmethod
    def fit(cls, ref: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> _Encoder:
        return cls(
            list(numeric),
            list(categorical),
            {c: float(pd.to_numeric(ref[c]).mean()) for c in numeric},
            {c: ref[c].mode(dropna=True).iloc[0] for c in categorical},
            {c: ref[c].value_counts(normalize=True).to_dict() for c in categorical},
        )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        cols = [
            pd.to_numeric(frame[c]).replace([np.inf, -np.inf], np.nan).fillna(self.means[c]).to_numpy(float) for c in self.numeric
        ]
        for c in self.categorical:
            filled = frame[c].where(frame[c].notna(), self.modes[c])
            cols.append(filled.map(self.freqs[c]).fillna(0.0).to_numpy(float))  # unseen category: frequency 0
        return np.column_stack(cols)


@dataclass(frozen=True)
class MultivariateResult:
    """Scores per chunk. `band` is the reference band (for reference-sized chunks); `bands`, when set,
    holds the band each current chunk was judged against (same order as `current`)."""

    method: str
    band: Band
    reference: list[float]
    current: list[float]
    alerts: list[bool]
    components: int | None = None
    bands: list[Band] | None = None


def mean_band(row_values: np.ndarray, chunk_means: Sequence[float], chunk_rows: Sequence[int], rows: int) -> Band:
    """Band for the mean of `rows` values drawn like `row_values` (see the module docstring)."""
    centre = float(row_values.mean())
    iid = float(row_values.std()) / np.sqrt(rows)
    between = float(np.std(chunk_means)) * np.sqrt(float(np.mean(chunk_rows)) / rows) if len(chunk_means) > 1 else 0.0
    se = max(iid, between)
    return Band(max(centre - BAND_SIGMAS * se, 0.0), centre + BAND_SIGMAS * se, centre, se, len(chunk_means))


def pca_reconstruction(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    reference_chunks: Chunking,
    current_chunks: Chunking,
) -> MultivariateResult:
    enc = _Encoder.fit(reference, numeric, categorical)
    scaler = StandardScaler().fit(enc.transform(reference))
    x_ref = scaler.transform(enc.transform(reference))
    pca = PCA(n_components=PCA_VARIANCE, svd_solver="full").fit(x_ref)

    def errors(x: np.ndarray) -> np.ndarray:
        back = pca.inverse_transform(pca.transform(x))
        return np.linalg.norm(x - back, axis=1)

    e_ref = errors(x_ref)
    e_cur = errors(scaler.transform(enc.transform(current)))
    ref_scores = [float(e_ref[c.start : c.stop].mean()) for c in reference_chunks.chunks]
    cur_scores = [float(e_cur[c.start : c.stop].mean()) for c in current_chunks.chunks]
    band = band_from(ref_scores, floor=0.0)
    ref_rows = [c.rows for c in reference_chunks.chunks]
    bands = [mean_band(e_ref, ref_scores, ref_rows, c.rows) for c in current_chunks.chunks]
    return MultivariateResult(
        "pca_reconstruction",
        band,
        ref_scores,
        cur_scores,
        [not b.contains(s) for b, s in zip(bands, cur_scores, strict=True)],
        int(pca.n_components_),
        bands,
    )


def domain_classifier(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    current_chunks: Chunking,
    max_reference_rows: int = 20_000,
    seed: int = 0,
) -> MultivariateResult:
    enc = _Encoder.fit(reference, numeric, categorical)
    ref = (
        reference.sample(n=min(len(reference), max_reference_rows), random_state=seed)
        if len(reference) > max_reference_rows
        else reference
    )
    x_ref = enc.transform(ref)
    x_cur = enc.transform(current)
    scores = []
    for ch in current_chunks.chunks:
        x = np.vstack([x_ref, x_cur[ch.start : ch.stop]])
        y = np.concatenate([np.zeros(len(x_ref)), np.ones(ch.rows)])
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        proba = cross_val_predict(
            HistGradientBoostingClassifier(random_state=seed, max_iter=100), x, y, cv=folds, method="predict_proba"
        )[:, 1]
        scores.append(float(roc_auc_score(y, proba)))
    low, high = AUROC_BAND
    band = Band(low, high, float("nan"), float("nan"), 0)
    return MultivariateResult("domain_classifier", band, [], scores, [not band.contains(s) for s in scores])
