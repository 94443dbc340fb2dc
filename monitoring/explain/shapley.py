"""Model-agnostic Shapley values: exact by enumeration (small feature counts) and sampled by
permutations, for models TreeSHAP cannot read.

The game is the interventional one, as in shap's ``PermutationExplainer``/``ExactExplainer``:
``v(S) = mean over background rows r of f(x_S, r_rest)``. Each permutation walks the features in
its order, switching them from the background to the row one at a time; the change in ``v`` is the
feature's marginal contribution. Permutations are drawn in antithetic pairs (a permutation and its
reverse), and when ``n_permutations`` reaches ``n_features!`` every permutation is used once, which
is exactly the Shapley value. Every permutation's contributions sum to ``f(x) - v(empty)``, so the
additivity residual is zero up to rounding whatever the sample size; the sampling error is reported
as the standard error of the per-permutation estimates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np

EXACT_MAX_FEATURES = 16


@dataclass
class SampledResult:
    values: np.ndarray  # (rows, features)
    base_value: float
    prediction: np.ndarray
    residual: np.ndarray
    stderr: np.ndarray  # (rows, features): sampling standard error (0 when exact)
    n_permutations: int
    exact: bool


def _coalition_values(f, x, background, masks: np.ndarray) -> np.ndarray:
    """v(S) for each boolean mask row (S = features taken from x)."""
    m = background.shape[0]
    Z = np.repeat(background[None, :, :], len(masks), axis=0)
    Z = np.where(masks[:, None, :], x[None, None, :], Z).reshape(len(masks) * m, -1)
    return np.asarray(f(Z), dtype=np.float64).reshape(len(masks), m).mean(axis=1)


def exact_shapley(f: Callable, X, background) -> SampledResult:
    """Exact interventional Shapley values by enumerating all 2^F coalitions (F <= 16)."""
    X, background = np.asarray(X, dtype=np.float64), np.asarray(background, dtype=np.float64)
    n_features = X.shape[1]
    if n_features > EXACT_MAX_FEATURES:
        raise ValueError(f"exact enumeration allows at most {EXACT_MAX_FEATURES} features")
    masks = ((np.arange(1 << n_features)[:, None] >> np.arange(n_features)) & 1).astype(bool)
    size = masks.sum(axis=1)
    weight = np.array([factorial(s) * factorial(n_features - s - 1) / factorial(n_features) for s in range(n_features)])
    out = np.zeros(X.shape)
    for row, x in enumerate(X):
        v = _coalition_values(f, x, background, masks)
        for i in range(n_features):
            without = np.flatnonzero(~masks[:, i])
            out[row, i] = (weight[size[without]] * (v[without | (1 << i)] - v[without])).sum()
    base = float(np.asarray(f(background), dtype=np.float64).mean())
    pred = np.asarray(f(X), dtype=np.float64)
    return SampledResult(out, base, pred, pred - base - out.sum(axis=1), np.zeros(X.shape), 1 << n_features, True)


class PermutationExplainer:
    """Sampled Shapley values of ``f`` (a function of a 2-D array returning one output per row)."""

    def __init__(self, f: Callable, background, *, n_permutations: int = 64, seed: int = 0):
        self.f = f
        self.background = np.asarray(background, dtype=np.float64)
        self.n_permutations = int(n_permutations)
        self.seed = int(seed)

    def _orders(self, n_features: int) -> tuple[np.ndarray, bool]:
        if n_features <= 8 and self.n_permutations >= factorial(n_features):
            return np.array(list(itertools.permutations(range(n_features)))), True
        rng = np.random.default_rng(self.seed)
        half = max(1, (self.n_permutations + 1) // 2)
        forward = np.array([rng.permutation(n_features) for _ in range(half)])
        return np.concatenate([forward, forward[:, ::-1]]), False  # antithetic pairs

    def shap_values(self, X) -> SampledResult:
        X = np.asarray(X, dtype=np.float64)
        n_rows, n_features = X.shape
        orders, exact = self._orders(n_features)
        # Coalition masks along each order: step k has the first k features of the order from x.
        steps = np.zeros((len(orders), n_features + 1, n_features), dtype=bool)
        for k in range(1, n_features + 1):
            steps[:, k] = steps[:, k - 1]
            steps[np.arange(len(orders)), k, orders[:, k - 1]] = True
        flat = steps.reshape(-1, n_features)
        values = np.zeros((n_rows, n_features))
        stderr = np.zeros((n_rows, n_features))
        for row, x in enumerate(X):
            v = _coalition_values(self.f, x, self.background, flat).reshape(len(orders), n_features + 1)
            marginal = np.zeros((len(orders), n_features))
            marginal[np.arange(len(orders))[:, None], orders] = np.diff(v, axis=1)
            values[row] = marginal.mean(axis=0)
            if not exact and len(orders) > 1:
                # antithetic pairs are dependent: the error of the mean is estimated over pair means
                pairs = (marginal[: len(orders) // 2] + marginal[len(orders) // 2 :]) / 2
                stderr[row] = pairs.std(axis=0, ddof=1) / np.sqrt(len(pairs)) if len(pairs) > 1 else np.nan
        base = float(np.asarray(self.f(self.background), dtype=np.float64).mean())
        pred = np.asarray(self.f(X), dtype=np.float64)
        return SampledResult(values, base, pred, pred - base - values.sum(axis=1), stderr, len(orders), exact)
