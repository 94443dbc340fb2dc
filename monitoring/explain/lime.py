"""A LIME-style local surrogate: a weighted Ridge fit over a quartile discretisation.

As LIME's tabular explainer with ``discretize_continuous=True, discretizer="quartile"``: each feature
is cut at the training quartiles; perturbed samples draw, per feature, a quartile bin with the
training frequencies and a value from the training rows in that bin; a sample's interpretable
representation is 1 where its bin equals the explained row's; the kernel is
``sqrt(exp(-d^2 / width^2))`` with d the Euclidean distance of that 0/1 vector from all ones and
``width = 0.75 * sqrt(n_features)``; the surrogate is ``Ridge(alpha=1)`` fitted with those weights.
A feature's contribution is its coefficient (the row has 1 everywhere); the surrogate's intercept is
the base value, and the residual is ``f(x) - (intercept + sum of contributions)``: a surrogate is an
approximation, and the residual and the weighted R^2 (``score``) say how good it is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import Ridge


@dataclass
class LimeResult:
    contributions: np.ndarray  # (features,)
    base_value: float  # the surrogate's intercept
    prediction: float  # f(x)
    residual: float
    score: float  # weighted R^2 of the surrogate on its samples
    bins: list[str]  # the explained row's bin per feature, e.g. "q2: -0.31 < x <= 0.02"


class LimeExplainer:
    def __init__(self, f: Callable, training, *, n_samples: int = 5000, seed: int = 0, alpha: float = 1.0):
        self.f = f
        self.training = np.asarray(training, dtype=np.float64)
        self.n_samples = int(n_samples)
        self.seed = int(seed)
        self.alpha = alpha
        self.edges = np.nanpercentile(self.training, [25, 50, 75], axis=0).T  # (features, 3)
        self.train_bins = self._bin(self.training)

    def _bin(self, X: np.ndarray) -> np.ndarray:
        return np.stack([np.searchsorted(self.edges[j], X[:, j], side="left") for j in range(X.shape[1])], axis=1)

    def _describe(self, j: int, b: int) -> str:
        e = self.edges[j]
        if b == 0:
            return f"q1: x <= {e[0]:.4g}"
        if b == 3:
            return f"q4: x > {e[2]:.4g}"
        return f"q{b + 1}: {e[b - 1]:.4g} < x <= {e[b]:.4g}"

    def explain(self, x) -> LimeResult:
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        n_features = x.shape[1]
        rng = np.random.default_rng(self.seed)
        x_bins = self._bin(x)[0]
        samples = np.empty((self.n_samples, n_features))
        sample_bins = np.empty((self.n_samples, n_features), dtype=np.int64)
        for j in range(n_features):
            idx = rng.integers(0, len(self.training), size=self.n_samples)  # bin drawn with training frequency
            sample_bins[:, j] = self.train_bins[idx, j]
            samples[:, j] = self.training[idx, j]
        samples[0], sample_bins[0] = x[0], x_bins  # the row itself is the first sample, as in LIME
        z = (sample_bins == x_bins).astype(np.float64)
        d = np.sqrt(((1.0 - z) ** 2).sum(axis=1))
        width = 0.75 * np.sqrt(n_features)
        w = np.sqrt(np.exp(-(d**2) / width**2))
        y = np.asarray(self.f(samples), dtype=np.float64)
        ridge = Ridge(alpha=self.alpha, fit_intercept=True).fit(z, y, sample_weight=w)
        fx = float(np.asarray(self.f(x), dtype=np.float64)[0])
        local = float(ridge.intercept_ + ridge.coef_.sum())
        return LimeResult(
            contributions=ridge.coef_.copy(),
            base_value=float(ridge.intercept_),
            prediction=fx,
            residual=fx - local,
            score=float(ridge.score(z, y, sample_weight=w)),
            bins=[self._describe(j, int(b)) for j, b in enumerate(x_bins)],
        )
