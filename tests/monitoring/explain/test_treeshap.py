"""Native TreeSHAP against shap 0.51 (test-only dependency) and against the definition itself.

Path-dependent: shap's C TreeExplainer computes in float64, and we agree with it to 1e-9 (in practice
~1e-15) on forests, extra trees, gradient boosting and HistGradientBoosting, through both of our
evaluation paths (pattern table and per-row).

Interventional: shap 0.51's C code stores thresholds, leaf values and path weights as 32-bit floats
(``struct Node { float thres, value; }`` in its tree_shap.h), so no float64 implementation can agree
with it to 1e-9; on HistGradientBoosting, whose thresholds are float64, its float32 thresholds even
send background rows down other branches (and its values then fail its own additivity check). The
1e-9 oracle for this mode is therefore the definition: the exact Shapley values of
``S -> mean_r f(x_S, r_rest)`` enumerated over every coalition with the model's own predict. Beside it
we check agreement with shap at float32 precision once the model's thresholds are float32 numbers.
"""

from __future__ import annotations

import copy
import itertools
import warnings
from math import factorial

import numpy as np
import pytest

shap = pytest.importorskip("shap")

from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402

from monitoring.explain.trees import UnsupportedModel, from_model  # noqa: E402
from monitoring.explain.treeshap import TreeExplainer  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)


def _data(n=500, f=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y = X[:, 0] + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] ** 2 + rng.normal(size=n) * 0.3
    return X, y, (y > 0).astype(int)


def _models():
    X, y, yc = _data()
    return X, [
        RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0).fit(X, y),
        RandomForestClassifier(n_estimators=15, max_depth=7, random_state=0).fit(X, yc),
        ExtraTreesRegressor(n_estimators=8, max_depth=9, random_state=0).fit(X, y),
        ExtraTreesClassifier(n_estimators=8, random_state=0, min_samples_leaf=5).fit(X, yc),
        GradientBoostingRegressor(n_estimators=25, max_depth=4, random_state=0).fit(X, y),
        GradientBoostingClassifier(n_estimators=25, max_depth=3, subsample=0.7, random_state=0).fit(X, yc),
        HistGradientBoostingRegressor(max_iter=25, random_state=0).fit(X, y),
        HistGradientBoostingClassifier(max_iter=25, max_depth=5, random_state=0).fit(X, yc),
    ]


X_TRAIN, MODELS = _models()
IDS = [type(m).__name__ for m in MODELS]


def _shap_path_dependent(model, X):
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(X, check_additivity=False))
    base = np.ravel(explainer.expected_value)
    if values.ndim == 3:  # classifiers with one column per class: the positive class
        return values[..., 1], base[1]
    return values, base[0]


def _raw_output(model, X):
    if hasattr(model, "decision_function"):  # boosted classifiers: the margin (log-odds)
        return model.decision_function(X)
    if hasattr(model, "predict_proba"):  # forests: the positive class's probability
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def _exact_interventional(model, X, background):
    """The definition, by enumeration: Shapley values of S -> mean over background of f(x_S, r_rest)."""
    n_features = X.shape[1]
    out = np.zeros(X.shape)
    for row, x in enumerate(X):
        value = {}
        for size in range(n_features + 1):
            for S in itertools.combinations(range(n_features), size):
                Z = background.copy()
                Z[:, list(S)] = x[list(S)]
                value[S] = _raw_output(model, Z).mean()
        for i in range(n_features):
            others = [j for j in range(n_features) if j != i]
            for size in range(n_features):
                w = factorial(size) * factorial(n_features - size - 1) / factorial(n_features)
                for S in itertools.combinations(others, size):
                    out[row, i] += w * (value[tuple(sorted((*S, i)))] - value[S])
    return out


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_it_matches_shap_path_dependent_to_1e_9_through_the_pattern_table(model):
    X = _data(n=120, seed=1)[0]
    explainer = TreeExplainer(model)
    explainer._build_table()  # force the table path whatever the row count
    ours = explainer.shap_values(X)
    values, base = _shap_path_dependent(model, X)
    assert np.abs(ours.values - values).max() < 1e-9
    assert abs(ours.base_value - base) < 1e-9
    assert np.abs(ours.prediction - _raw_output(model, X)).max() < 1e-9
    assert np.abs(ours.residual).max() < 1e-9


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_it_matches_shap_path_dependent_to_1e_9_per_row(model):
    X = _data(n=3, seed=2)[0]
    explainer = TreeExplainer(model)
    ours = explainer.shap_values(X)
    assert explainer._table is None  # three rows: evaluated at their own patterns, no table built
    values, _ = _shap_path_dependent(model, X)
    assert np.abs(ours.values - values).max() < 1e-9


def test_it_handles_missing_values_as_the_model_routes_them():
    X, y, _ = _data(n=600, seed=3)
    rng = np.random.default_rng(4)
    X[rng.random(X.shape) < 0.15] = np.nan
    for model in (
        HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y),
        RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0).fit(X, y),
    ):
        Xt = X[:80]
        ours = TreeExplainer(model).shap_values(Xt)
        values, _ = _shap_path_dependent(model, Xt)
        assert np.abs(ours.values - values).max() < 1e-9
        assert np.abs(ours.prediction - model.predict(Xt)).max() < 1e-9


def test_it_handles_paths_deeper_than_the_pattern_table():
    X, y, _ = _data(n=3000, f=16, seed=5)
    model = RandomForestRegressor(n_estimators=3, max_depth=None, min_samples_leaf=1, random_state=0).fit(X, y)
    ensemble = from_model(model)
    assert ensemble.max_depth > 12  # some leaves split on more than TABLE_MAX_DEPTH distinct features
    Xt = X[:40]
    explainer = TreeExplainer(ensemble)
    explainer._build_table()
    ours = explainer.shap_values(Xt)
    values, _ = _shap_path_dependent(model, Xt)
    assert np.abs(ours.values - values).max() < 1e-9


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_it_computes_interventional_shap_exactly_by_its_definition(model):
    X = _data(n=2, seed=6)[0]
    background = X_TRAIN[:25]
    ours = TreeExplainer(model, background=background).shap_values(X)
    assert np.abs(ours.values - _exact_interventional(model, X, background)).max() < 1e-9
    assert abs(ours.base_value - _raw_output(model, background).mean()) < 1e-9
    assert np.abs(ours.residual).max() < 1e-9


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_it_agrees_with_shap_interventional_at_shaps_float32_precision(model):
    model = copy.deepcopy(model)
    if isinstance(model, HistGradientBoostingRegressor | HistGradientBoostingClassifier):
        for stage in model._predictors:  # make the thresholds float32 numbers, as shap stores them
            nodes = stage[0].nodes
            nodes["num_threshold"] = nodes["num_threshold"].astype(np.float32).astype(np.float64)
    X = _data(n=20, seed=7)[0]
    background = X_TRAIN[:30]
    ours = TreeExplainer(model, background=background).shap_values(X)
    explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
    values = np.asarray(explainer.shap_values(X, check_additivity=False))
    if values.ndim == 3:
        values = values[..., 1]
    assert np.abs(ours.values - values).max() < 1e-6


def test_it_refuses_models_that_are_not_supported_tree_ensembles():
    X, _, yc = _data(n=100)
    with pytest.raises(UnsupportedModel, match="not a supported tree ensemble"):
        from_model(LogisticRegression().fit(X, yc))
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])
    with pytest.raises(UnsupportedModel, match="binary"):
        from_model(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y3))
