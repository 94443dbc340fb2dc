"""Sampled Shapley converges to exact Shapley; the LIME-style surrogate follows its recipe; global
explanations are scikit-learn's own numbers with their provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPRegressor

from monitoring.explain.inspection import dataset_sha256, global_explain
from monitoring.explain.lime import LimeExplainer
from monitoring.explain.shapley import PermutationExplainer, exact_shapley
from monitoring.explain.treeshap import TreeExplainer


def _data(n=300, f=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] + rng.normal(size=n) * 0.1
    return X, y


@pytest.fixture(scope="module")
def mlp():
    X, y = _data()
    return X, MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, random_state=0).fit(X, y)


def test_it_is_exact_when_every_permutation_is_used(mlp):
    X, model = mlp
    background, rows = X[:20], X[200:203]
    exact = exact_shapley(model.predict, rows, background)
    sampled = PermutationExplainer(model.predict, background, n_permutations=120).shap_values(rows)  # 5! = 120
    assert sampled.exact
    assert np.abs(sampled.values - exact.values).max() < 1e-12
    assert np.abs(exact.residual).max() < 1e-12


def test_it_converges_to_exact_shapley_as_permutations_grow(mlp):
    X, model = mlp
    X6 = np.c_[X, X[:, 0] * 0.3]  # six features: 720 permutations, so sampling is real
    model6 = MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, random_state=0).fit(X6, _data()[1])
    background, rows = X6[:15], X6[200:202]
    exact = exact_shapley(model6.predict, rows, background).values
    errors = []
    for n in (8, 64, 512):
        res = PermutationExplainer(model6.predict, background, n_permutations=n, seed=1).shap_values(rows)
        assert not res.exact
        assert np.abs(res.residual).max() < 1e-9  # every permutation is additive
        errors.append(np.abs(res.values - exact).max())
    assert errors[2] < errors[0] / 3
    assert errors[2] < 0.02 * np.abs(exact).max()


def test_exact_shapley_equals_interventional_treeshap_on_a_tree_model():
    X, y = _data(n=400)
    model = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    background, rows = X[:20], X[300:303]
    tree = TreeExplainer(model, background=background).shap_values(rows).values
    assert np.abs(exact_shapley(model.predict, rows, background).values - tree).max() < 1e-9


def test_the_lime_surrogate_fits_weighted_ridge_over_quartile_bins():
    X, y = _data(n=500)
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y > 0)
    f = lambda Z: model.predict_proba(Z)[:, 1]  # noqa: E731
    lime = LimeExplainer(f, X, n_samples=3000, seed=3)
    x = X[10]
    res = lime.explain(x)
    assert res.prediction == pytest.approx(f(x[None])[0])
    assert res.residual == pytest.approx(res.prediction - res.base_value - res.contributions.sum())
    assert all(b.startswith("q") for b in res.bins)
    # Reproducible with the seed, different with another.
    again = lime.explain(x)
    assert np.array_equal(again.contributions, res.contributions)
    other = LimeExplainer(f, X, n_samples=3000, seed=4).explain(x)
    assert not np.array_equal(other.contributions, res.contributions)
    # On a linear function and a row in every feature's top quartile, the surrogate's signs are the
    # function's and the feature the function ignores weighs least.
    linear = lambda Z: 2 * Z[:, 0] - Z[:, 1] + 0 * Z[:, 2]  # noqa: E731
    top = np.quantile(X, 0.9, axis=0)
    lin = LimeExplainer(linear, X, n_samples=3000, seed=3).explain(top)
    assert lin.contributions[0] > 0 > lin.contributions[1]
    assert abs(lin.contributions[2]) < 0.1 * abs(lin.contributions[1])


def test_global_explanations_are_scikit_learns_numbers_with_provenance():
    X, y = _data(n=400)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = LogisticRegression().fit(frame, y > 0)
    out = global_explain(model, frame, y > 0, n_repeats=4, seed=11, sample_size=250, features=["f0"])
    rows = frame.sample(n=250, random_state=11).sort_index()
    y_rows = (y > 0)[rows.index]
    direct = permutation_importance(model, rows, y_rows, n_repeats=4, random_state=11)
    assert [d["mean"] for d in out["permutation_importance"]] == list(direct.importances_mean)
    pdp = partial_dependence(model, rows, ["f0"], kind="both", grid_resolution=20)
    assert out["partial_dependence"][0]["average"] == list(pdp["average"][0])
    assert out["partial_dependence"][0]["ice"] == pdp["individual"][0].tolist()
    assert out["dataset_sha256"] == dataset_sha256(rows) and out["sample_size"] == 250 and out["seed"] == 11
