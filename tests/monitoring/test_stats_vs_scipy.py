"""The engine's building blocks against scipy and numpy on random data (exact or to 1e-12)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from monitoring.stats.binning import binned_shares, histogram, sturges_edges
from monitoring.stats.dists import categorical_from_series, numeric_from_array, numeric_from_series
from monitoring.stats.drift import ColumnDrift, DriftOptions, dataset_drift
from monitoring.stats.kinds import ColumnKind
from monitoring.stats.methods import get_method, wasserstein_sorted


@pytest.mark.parametrize("seed", range(20))
def test_it_computes_numpys_sturges_edges_from_count_min_and_max(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    a = rng.integers(-50, 80, n) if seed % 2 else rng.normal(size=n) * 10 ** rng.uniform(-3, 3)
    if seed % 5 == 0:
        a = np.full(n, a[0])
    assert np.array_equal(sturges_edges(n, a.min(), a.max(), integer=a.dtype.kind == "i"), np.histogram_bin_edges(a, "sturges"))


@pytest.mark.parametrize("seed", range(10))
def test_it_counts_histograms_as_numpy(seed):
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=2000), 1)  # ties on edges
    edges = np.histogram_bin_edges(a, "sturges")
    assert np.array_equal(histogram(numeric_from_array(a), edges), np.histogram(a, edges)[0].astype(float))


@pytest.mark.parametrize("seed", range(10))
def test_it_computes_wasserstein_as_scipy(seed):
    rng = np.random.default_rng(seed)
    u = np.round(rng.normal(size=int(rng.integers(1, 3000))), seed % 3)
    v = np.round(rng.normal(0.2, 1.3, size=int(rng.integers(1, 3000))), seed % 3)
    du, dv = numeric_from_array(u), numeric_from_array(v)
    ours = wasserstein_sorted(du.values, du.counts.astype(float), dv.values, dv.counts.astype(float))
    assert ours == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12)
    w = rng.random(u.size)
    order = np.argsort(u, kind="stable")
    assert wasserstein_sorted(u[order], w[order], dv.values, dv.counts.astype(float)) == pytest.approx(
        stats.wasserstein_distance(u, v, u_weights=w), rel=1e-12
    )


def test_it_gives_scipys_ks_p_value_and_decides_at_or_below_threshold():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=500), rng.normal(0.15, size=400)
    p = stats.ks_2samp(u, v).pvalue
    res = get_method("ks").run(numeric_from_array(u), numeric_from_array(v), p)
    assert res.score == pytest.approx(p, rel=1e-12) and res.drifted  # p <= threshold drifts


def test_it_gives_scipys_chisquare_and_decides_strictly_below_threshold():
    ref = pd.Series(list("aaabbbcccc") * 30)
    cur = pd.Series(list("aabbbbcccc") * 20)
    p = stats.chisquare([40, 80, 80], [90 * 200 / 300, 90 * 200 / 300, 120 * 200 / 300]).pvalue
    res = get_method("chisquare").run(categorical_from_series(ref), categorical_from_series(cur), p)
    assert res.score == pytest.approx(p, rel=1e-12) and not res.drifted


def test_it_gives_scipys_jensen_shannon_over_value_shares():
    ref = categorical_from_series(pd.Series(["x"] * 60 + ["y"] * 40))
    cur = categorical_from_series(pd.Series(["x"] * 30 + ["y"] * 50 + ["z"] * 20))
    b = binned_shares(ref, cur, smooth=False)
    expected = distance.jensenshannon([0.6, 0.4, 0.0], [0.3, 0.5, 0.2])
    keys = sorted(zip(b.reference, b.current, strict=True), key=lambda t: -t[0])
    assert distance.jensenshannon([k[0] for k in keys], [k[1] for k in keys]) == pytest.approx(expected, rel=1e-12)
    assert get_method("jensenshannon").run(ref, cur, 0.1).score == pytest.approx(expected, rel=1e-12)


def test_it_smooths_empty_bins_for_psi_as_evidently():
    ref = categorical_from_series(pd.Series(["x"] * 60 + ["y"] * 40))
    cur = categorical_from_series(pd.Series(["x"] * 30 + ["y"] * 50 + ["z"] * 20))
    b = binned_shares(ref, cur, smooth=True)
    assert sorted(b.reference.tolist()) == [0.0001, 0.4, 0.6]  # min non-zero 0.4 > 0.0001 -> 0.0001
    r, c = np.array([0.6, 0.4, 0.0001]), np.array([0.3, 0.5, 0.2])
    assert get_method("psi").run(ref, cur, 0.1).score == pytest.approx(np.sum((r - c) * np.log(r / c)), rel=1e-12)
    assert get_method("kl_div").run(ref, cur, 0.1).score == pytest.approx(stats.entropy(r, c), rel=1e-12)


def test_it_drops_nulls_and_infinities_before_testing():
    d = numeric_from_series(pd.Series([1.0, np.nan, np.inf, -np.inf, 2.0]))
    assert d.n == 2 and d.n_missing == 3


def _col(name, p, method="ks", threshold=0.05):
    return ColumnDrift(name, "num", method, method, p, threshold, "t", p <= threshold, 100, 100, score_kind="p_value")


def test_it_applies_bonferroni_to_p_value_tests_only():
    cols = [
        _col("a", 0.01),
        _col("b", 0.03),
        ColumnDrift("c", "num", "wasserstein", "W", 0.5, 0.1, "t", True, 10, 10, score_kind="distance"),
    ]
    report = dataset_drift(cols, DriftOptions(correction="bonferroni"))
    by = {c.name: c for c in report.columns}
    assert by["a"].drifted and by["a"].corrected_threshold == pytest.approx(0.025)
    assert not by["b"].drifted and by["c"].drifted and by["c"].corrected_threshold is None
    assert report.number_of_drifted_columns == 2


def test_it_applies_benjamini_hochberg():
    cols = [_col(n, p) for n, p in zip("abcde", [0.001, 0.008, 0.039, 0.041, 0.6], strict=True)]
    report = dataset_drift(cols, DriftOptions(correction="bh"))
    # ranks: 0.001 <= 0.01, 0.008 <= 0.02, 0.039 > 0.03, 0.041 > 0.04, 0.6 > 0.05 -> k = 2
    assert [c.drifted for c in report.columns] == [True, True, False, False, False]


def test_it_refuses_a_method_that_does_not_apply_to_the_kind():
    from monitoring.stats.drift import column_drift

    d = categorical_from_series(pd.Series(list("ab")))
    with pytest.raises(ValueError, match="does not apply"):
        column_drift("c", ColumnKind.CATEGORICAL, d, d, DriftOptions(method="ks"))
