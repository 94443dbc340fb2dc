"""Multivariate drift in monitor runs: a broken correlation with unchanged marginals is flagged by the PCA
reconstruction error while no single feature drifts; the same process is not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring import services
from monitoring.choices import ResultKind
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def _pair(n, seed, sign=1.0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": sign * a + rng.normal(0, 0.3, n), "prediction_id": [f"{seed}-{i}" for i in range(n)]})


@pytest.fixture
def monitor(users, version, roots):
    path = roots / "pairs.parquet"
    _pair(20_000, seed=1).drop(columns=["prediction_id"]).to_parquet(path)
    asset = AssetFactory(location=str(path), qualified_name="files.pairs")
    return services.monitor_create(
        actor=users["steward"], model_version=version, name="pairs", reference_asset=asset, columns=["a", "b"]
    )


def test_a_broken_correlation_is_flagged_while_no_feature_drifts(users, version, monitor):
    services.batch_log(actor=users["service"], model_version=version, rows=_pair(2000, seed=2, sign=-1.0))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert not run.results.filter(kind=ResultKind.DRIFT, flagged=True).exists()
    mv = run.results.get(kind=ResultKind.MULTIVARIATE)
    assert mv.flagged and mv.score > mv.threshold and mv.details["components"] == 1
    assert mv.details["rows"] == 2000 and mv.details["reference_rows"] == 20_000
    assert run.monitor.alerts.filter(kind=ResultKind.MULTIVARIATE, state="open").exists()


def test_the_same_process_stays_inside_the_band(users, version, monitor):
    services.batch_log(actor=users["service"], model_version=version, rows=_pair(2000, seed=3))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    mv = run.results.get(kind=ResultKind.MULTIVARIATE)
    assert not mv.flagged and mv.details["lower"] <= mv.score <= mv.details["upper"]
