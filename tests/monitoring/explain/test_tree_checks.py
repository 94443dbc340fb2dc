"""The two tree types Custos trusts beyond skops' defaults hold raw node indices that scikit-learn's
Cython code follows without bounds checks (skops 0.16 names the risk: a crafted file loads, then
predict() reads out of bounds). A crafted file is refused at load, before any predict can run."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from monitoring.explain.artifacts import ArtifactRefused, load_bytes


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _crafted_tree(edit):
    X, y = _data()
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    state = model.tree_.__getstate__()
    edit(state["nodes"])
    model.tree_.__setstate__(state)
    return sio.dumps(model)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda nodes: nodes["left_child"].__setitem__(0, 10**6), "child index is out of range"),
        (lambda nodes: nodes["right_child"].__setitem__(0, 0), "child index is out of range"),  # a cycle
        (lambda nodes: nodes["feature"].__setitem__(0, 4), "split feature index is out of range"),
        (lambda nodes: nodes["feature"].__setitem__(0, -7), "split feature index is out of range"),
        (lambda nodes: nodes["left_child"].__setitem__(0, -1), "exactly one child"),
    ],
)
def test_a_crafted_decision_tree_is_refused_at_load(edit, message):
    data = _crafted_tree(edit)
    with pytest.raises(ArtifactRefused, match=message):
        load_bytes(data)


def test_a_crafted_tree_inside_a_forest_is_refused():
    X, y = _data()
    forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    tree = forest.estimators_[3].tree_
    state = tree.__getstate__()
    state["nodes"]["right_child"][0] = state["node_count"] + 5
    tree.__setstate__(state)
    with pytest.raises(ArtifactRefused, match="child index is out of range"):
        load_bytes(sio.dumps(forest))


def test_a_crafted_boosted_tree_is_refused():
    X, y = _data()
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    predictor = model._predictors[1][0]
    predictor.nodes["left"][0] = len(predictor.nodes) + 100
    with pytest.raises(ArtifactRefused, match="boosted tree's child index is out of range"):
        load_bytes(sio.dumps(model))
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    model._predictors[0][0].nodes["feature_idx"][0] = 9
    with pytest.raises(ArtifactRefused, match="feature index is out of range"):
        load_bytes(sio.dumps(model))


def test_untouched_tree_models_load_and_predict_as_fitted():
    X, y = _data()
    for model in (
        RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y),
        GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, y),
        HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y),
        DecisionTreeClassifier(random_state=0).fit(X, y),
    ):
        loaded = load_bytes(sio.dumps(model))
        np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))
