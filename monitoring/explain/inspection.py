"""Global explanations through scikit-learn's inspection module, recorded with what they were
computed on: permutation importance, partial dependence and ICE curves.

The functions are scikit-learn's own (``permutation_importance``, ``partial_dependence`` with
``kind="both"``), called with the seed and sample recorded beside the result, so anyone can recompute
them; ``dataset_sha256`` identifies the exact rows used (a SHA-256 over pandas' row hashes and the
column names).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sklearn.inspection import partial_dependence, permutation_importance


def dataset_sha256(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def sample_rows(frame: pd.DataFrame, *, sample_size: int | None, seed: int) -> pd.DataFrame:
    if sample_size is None or sample_size >= len(frame):
        return frame
    return frame.sample(n=sample_size, random_state=seed).sort_index()


def global_explain(
    model,
    frame: pd.DataFrame,
    y,
    *,
    scoring: str | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    sample_size: int | None = None,
    features: list[str] | None = None,
    grid_resolution: int = 20,
) -> dict:
    """Permutation importance for every feature and PDP + ICE for ``features`` (default: the three most
    important), as plain JSON-ready data with the provenance fields."""
    rows = sample_rows(frame, sample_size=sample_size, seed=seed)
    y_rows = np.asarray(y)[frame.index.get_indexer(rows.index)] if len(rows) != len(frame) else np.asarray(y)
    pi = permutation_importance(model, rows, y_rows, scoring=scoring, n_repeats=n_repeats, random_state=seed)
    importance = [
        {"feature": str(c), "mean": float(m), "std": float(s)}
        for c, m, s in zip(rows.columns, pi.importances_mean, pi.importances_std, strict=True)
    ]
    if features is None:
        order = np.argsort(-pi.importances_mean)
        features = [str(rows.columns[i]) for i in order[:3]]
    curves = []
    for feature in features:
        pd_result = partial_dependence(model, rows, [feature], kind="both", grid_resolution=grid_resolution)
        curves.append(
            {
                "feature": feature,
                "grid": [float(v) for v in pd_result["grid_values"][0]],
                "average": [float(v) for v in pd_result["average"][0]],
                "ice": np.asarray(pd_result["individual"][0]).tolist(),
            }
        )
    return {
        "permutation_importance": importance,
        "partial_dependence": curves,
        "scoring": scoring or "estimator default",
        "n_repeats": n_repeats,
        "seed": seed,
        "sample_size": len(rows),
        "dataset_sha256": dataset_sha256(rows),
        "grid_resolution": grid_resolution,
    }
