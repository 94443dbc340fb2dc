"""Monitoring fixtures: data roots under tmp, a seeded reference/current pair written as files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.factories import AssetFactory, ModelVersionFactory


@pytest.fixture
def roots(tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    return tmp_path


def make_frame(n: int, *, seed: int, shift: float = 0.0, with_outputs: bool = True, label: bool = False) -> pd.DataFrame:
    """Seeded inputs; with outputs, a calibrated probability (sigmoid of `score`), the prediction at 0.5,
    a prediction id and, with `label`, a label drawn from the probability."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40 + shift * 10, 10, n).round(1),
            "income": rng.lognormal(10, 0.5, n),
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "score": rng.normal(shift, 1, n),
        }
    )
    if with_outputs:
        p = 1 / (1 + np.exp(-frame["score"]))
        frame["probability"] = p
        frame["prediction"] = (p >= 0.5).astype(int)
        frame["prediction_id"] = [f"p{seed}-{i}" for i in range(n)]
        if label:
            frame["label"] = (rng.random(n) < p).astype(int)
    return frame


@pytest.fixture
def reference_asset(roots, db):
    path = roots / "reference.parquet"
    make_frame(3000, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(path)
    return AssetFactory(location=str(path), qualified_name="files.reference")


@pytest.fixture
def version(db):
    return ModelVersionFactory()
