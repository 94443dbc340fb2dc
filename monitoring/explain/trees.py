"""Tree ensembles as flat leaf paths: the one representation the TreeSHAP code works on.

A fitted scikit-learn forest, gradient boosting or HistGradientBoosting model becomes a
:class:`TreeEnsemble`: for every leaf of every tree, its value (already scaled: a forest's 1/T, a
booster's learning rate) and, per distinct feature on its root-to-leaf path, the interval
``lo < x <= hi`` that the path's splits on that feature allow, whether a missing value (NaN) follows
the path, and the *zero fraction* z (the product of child/parent cover ratios of those splits, the
share of training samples the path keeps when the feature is unknown). Repeated splits on one
feature merge into one entry, exactly as TreeSHAP merges them.

The model's output that is explained (``TreeEnsemble.output``):
  * forests and single trees: the averaged leaf value: a regressor's prediction, a classifier's
    class probability (``"probability"``);
  * gradient boosting and HistGradientBoosting classifiers: the raw margin, the log-odds of the
    positive class (``"log-odds"``); regressors: the raw prediction (``"raw"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Missing values: a split sends NaN one way; we record per node whether NaN goes left.


class UnsupportedModel(ValueError):  # noqa: N818 -- reads as the sentence it raises
    """The model is not a tree ensemble this module can read (the message says why)."""


@dataclass(frozen=True)
class TreeEnsemble:
    """Every leaf of every tree as flat arrays (see the module docstring for the meaning).

    Leaves: ``leaf_tree``, ``leaf_value`` (n_leaves, n_outputs), ``leaf_depth`` (distinct path
    features), ``leaf_start`` (offsets into the entry arrays, n_leaves + 1), ``leaf_cover`` (the
    leaf's share of its tree's root cover). Entries (one per leaf and distinct path feature, grouped by
    leaf, ``entry_pos`` counting from 0 within the leaf): ``entry_feature``, ``entry_lo``,
    ``entry_hi``, ``entry_nan`` (NaN follows the path), ``entry_zero`` (z).
    """

    n_features: int
    n_trees: int
    base_offset: np.ndarray  # (n_outputs,) added to the sum over trees (a booster's initial prediction)
    output: str
    input_dtype: type
    leaf_tree: np.ndarray
    leaf_value: np.ndarray
    leaf_depth: np.ndarray
    leaf_start: np.ndarray
    leaf_cover: np.ndarray
    entry_feature: np.ndarray
    entry_pos: np.ndarray
    entry_lo: np.ndarray
    entry_hi: np.ndarray
    entry_nan: np.ndarray
    entry_zero: np.ndarray
    max_depth: int

    @property
    def n_outputs(self) -> int:
        return self.leaf_value.shape[1]

    @property
    def entry_leaf(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.leaf_depth)), self.leaf_depth)

    def expected_value(self) -> np.ndarray:
        """The cover-weighted mean output (path-dependent TreeSHAP's base value), per output."""
        return self.base_offset + (self.leaf_value * self.leaf_cover[:, None]).sum(axis=0)

    def prepare(self, X) -> np.ndarray:
        """``X`` as the model compares it: cast to its input dtype (float32 for scikit-learn's trees),
        then to float64 so the comparison with float64 thresholds is the model's own."""
        arr = np.asarray(X)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {arr.shape}")
        return arr.astype(self.input_dtype).astype(np.float64)

    def satisfied(self, X: np.ndarray) -> np.ndarray:
        """(n_rows, n_entries) booleans: does the row satisfy the leaf path's splits on that feature."""
        xv = X[:, self.entry_feature]
        ok = (xv > self.entry_lo) & (xv <= self.entry_hi)
        nan = np.isnan(xv)
        if nan.any():
            ok = np.where(nan, self.entry_nan, ok)
        return ok

    def patterns(self, X: np.ndarray) -> np.ndarray:
        """(n_rows, n_leaves) bit patterns: bit p set when the row satisfies the leaf's p-th feature."""
        bits = self.satisfied(X).astype(np.int64) << self.entry_pos
        out = np.zeros((X.shape[0], len(self.leaf_depth)), dtype=np.int64)
        nonempty = self.leaf_depth > 0
        if len(self.entry_pos):
            out[:, nonempty] = np.add.reduceat(bits, self.leaf_start[:-1][nonempty], axis=1)
        return out

    def predict(self, X) -> np.ndarray:
        """The explained output for prepared or raw rows, (n_rows, n_outputs): the base offset plus each
        tree's leaf value (a row lands in the one leaf whose every path entry it satisfies)."""
        Xp = self.prepare(X) if X.dtype != np.float64 else X
        full = (1 << self.leaf_depth.astype(np.int64)) - 1
        hit = self.patterns(Xp) == full
        return self.base_offset + hit.astype(np.float64) @ self.leaf_value


@dataclass
class _Tree:
    """One tree as node arrays (leaves: left == right == -1)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray  # (n_nodes, n_outputs)


def _sklearn_tree(tree, *, scale: float, normalize: bool, output_columns) -> _Tree:
    value = tree.value.reshape(tree.value.shape[0], -1).astype(np.float64)
    if normalize:  # class counts (older scikit-learn) or fractions: make fractions
        value = value / value.sum(axis=1, keepdims=True)
    value = value[:, output_columns] * scale
    nan_left = getattr(tree, "missing_go_to_left", None)
    nan_left = np.ones(tree.node_count, dtype=bool) if nan_left is None else nan_left.astype(bool)
    return _Tree(
        left=tree.children_left.astype(np.int64),
        right=tree.children_right.astype(np.int64),
        feature=tree.feature.astype(np.int64),
        threshold=tree.threshold.astype(np.float64),
        nan_left=nan_left,
        cover=tree.weighted_n_node_samples.astype(np.float64),
        value=value,
    )


def _hist_tree(predictor) -> _Tree:
    nodes = predictor.nodes
    if nodes["is_categorical"].any():
        raise UnsupportedModel("HistGradientBoosting with categorical splits is not supported by native TreeSHAP")
    leaf = nodes["is_leaf"].astype(bool)
    return _Tree(
        left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
        right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
        feature=nodes["feature_idx"].astype(np.int64),
        threshold=nodes["num_threshold"].astype(np.float64),
        nan_left=nodes["missing_go_to_left"].astype(bool),
        cover=nodes["count"].astype(np.float64),
        value=nodes["value"].astype(np.float64)[:, None],
    )


def _gb_offset(model) -> float:
    """A GradientBoosting model's initial raw prediction, which must not depend on the row."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = model.init_
    if init != "zero" and not isinstance(init, DummyRegressor | DummyClassifier):
        raise UnsupportedModel("GradientBoosting with a custom init estimator: its offset depends on the row")
    raw = model._raw_predict_init(np.zeros((2, model.n_features_in_), dtype=np.float32))
    if raw.shape[1] != 1:
        raise UnsupportedModel("multi-class GradientBoostingClassifier is not supported (binary only)")
    return float(raw[0, 0])


def _trees_of(model) -> tuple[list[_Tree], np.ndarray, str, type]:
    from sklearn import ensemble, tree

    def classes_ok(m):
        if len(m.classes_) != 2:
            raise UnsupportedModel("only binary classifiers are explained (the positive class is classes_[1])")

    if isinstance(model, ensemble.RandomForestClassifier | ensemble.ExtraTreesClassifier | tree.DecisionTreeClassifier):
        classes_ok(model)
        estimators = model.estimators_ if hasattr(model, "estimators_") else [model]
        if getattr(model, "n_outputs_", 1) != 1:
            raise UnsupportedModel("multi-output classifiers are not supported")
        scale = 1.0 / len(estimators)
        trees = [_sklearn_tree(e.tree_, scale=scale, normalize=True, output_columns=[1]) for e in estimators]
        return trees, np.zeros(1), "probability", np.float32
    if isinstance(model, ensemble.RandomForestRegressor | ensemble.ExtraTreesRegressor | tree.DecisionTreeRegressor):
        if getattr(model, "n_outputs_", 1) != 1:
            raise UnsupportedModel("multi-output regressors are not supported")
        estimators = model.estimators_ if hasattr(model, "estimators_") else [model]
        scale = 1.0 / len(estimators)
        trees = [_sklearn_tree(e.tree_, scale=scale, normalize=False, output_columns=[0]) for e in estimators]
        return trees, np.zeros(1), "raw", np.float32
    if isinstance(model, ensemble.GradientBoostingClassifier | ensemble.GradientBoostingRegressor):
        if isinstance(model, ensemble.GradientBoostingClassifier):
            classes_ok(model)
        offset = _gb_offset(model)
        trees = [
            _sklearn_tree(e.tree_, scale=model.learning_rate, normalize=False, output_columns=[0])
            for e in model.estimators_[:, 0]
        ]
        output = "log-odds" if isinstance(model, ensemble.GradientBoostingClassifier) else "raw"
        return trees, np.array([offset]), output, np.float32
    if isinstance(model, ensemble.HistGradientBoostingClassifier | ensemble.HistGradientBoostingRegressor):
        if isinstance(model, ensemble.HistGradientBoostingClassifier):
            classes_ok(model)
        if any(len(stage) != 1 for stage in model._predictors):
            raise UnsupportedModel("multi-class HistGradientBoostingClassifier is not supported (binary only)")
        trees = [_hist_tree(stage[0]) for stage in model._predictors]
        offset = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)[:1]
        output = "log-odds" if isinstance(model, ensemble.HistGradientBoostingClassifier) else "raw"
        return trees, offset, output, np.float64
    raise UnsupportedModel(f"{type(model).__name__} is not a supported tree ensemble")


def is_tree_model(model) -> bool:
    try:
        _trees_of(model)
    except UnsupportedModel:
        return False
    return True


def from_model(model) -> TreeEnsemble:
    """Read a fitted scikit-learn tree model into a :class:`TreeEnsemble` (raises UnsupportedModel)."""
    trees, offset, output, input_dtype = _trees_of(model)
    leaf_tree, leaf_value, leaf_depth, leaf_cover = [], [], [], []
    e_feat, e_lo, e_hi, e_nan, e_zero = [], [], [], [], []
    max_depth = 0
    for t_index, t in enumerate(trees):
        root_cover = t.cover[0]
        # Depth-first over the tree; a path state maps feature -> [lo, hi, nan_ok, zero].
        stack: list[tuple[int, dict[int, list]]] = [(0, {})]
        while stack:
            node, path = stack.pop()
            if t.left[node] < 0:
                leaf_tree.append(t_index)
                leaf_value.append(t.value[node])
                leaf_cover.append(t.cover[node] / root_cover)
                leaf_depth.append(len(path))
                max_depth = max(max_depth, len(path))
                for f, (lo, hi, nan_ok, zero) in path.items():
                    e_feat.append(f)
                    e_lo.append(lo)
                    e_hi.append(hi)
                    e_nan.append(nan_ok)
                    e_zero.append(zero)
                continue
            f, thr = int(t.feature[node]), t.threshold[node]
            for child, goes_left in ((t.left[node], True), (t.right[node], False)):
                lo, hi, nan_ok, zero = path.get(f, (-np.inf, np.inf, True, 1.0))
                if goes_left:
                    hi = min(hi, thr)
                else:
                    lo = max(lo, thr)
                child_path = dict(path)
                child_path[f] = [lo, hi, nan_ok and (t.nan_left[node] == goes_left), zero * t.cover[child] / t.cover[node]]
                stack.append((int(child), child_path))
    if max_depth > 62:  # patterns are int64 bit sets
        raise UnsupportedModel(f"a leaf path splits on {max_depth} distinct features; native TreeSHAP allows 62")
    leaf_depth_arr = np.asarray(leaf_depth, dtype=np.int64)
    start = np.zeros(len(leaf_depth_arr) + 1, dtype=np.int64)
    np.cumsum(leaf_depth_arr, out=start[1:])
    pos = np.arange(start[-1]) - np.repeat(start[:-1], leaf_depth_arr)
    n_features = int(getattr(model, "n_features_in_", 0))
    return TreeEnsemble(
        n_features=n_features,
        n_trees=len(trees),
        base_offset=np.asarray(offset, dtype=np.float64),
        output=output,
        input_dtype=input_dtype,
        leaf_tree=np.asarray(leaf_tree, dtype=np.int64),
        leaf_value=np.asarray(leaf_value, dtype=np.float64).reshape(len(leaf_tree), -1),
        leaf_depth=leaf_depth_arr,
        leaf_start=start,
        leaf_cover=np.asarray(leaf_cover, dtype=np.float64),
        entry_feature=np.asarray(e_feat, dtype=np.int64),
        entry_pos=pos.astype(np.int64),
        entry_lo=np.asarray(e_lo, dtype=np.float64),
        entry_hi=np.asarray(e_hi, dtype=np.float64),
        entry_nan=np.asarray(e_nan, dtype=bool),
        entry_zero=np.asarray(e_zero, dtype=np.float64),
        max_depth=max_depth,
    )
