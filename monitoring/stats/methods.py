"""The drift methods, each reproducing Evidently 0.7.23's stattest of the same name.

A method takes the reference and current distributions of one column and its threshold and returns the
score, the decision and what it binned. Scores and decisions follow Evidently exactly, including its
comparison operators (KS drifts at p <= threshold, chi-square, Z and TVD at p < threshold, the distances at
score >= threshold) and its formulas (the two-proportion Z-test's p-value is 2 * (1 - Phi(|z|)), as
Evidently computes it, not the survival function).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.spatial import distance

from .binning import Binned, align_counts, binned_shares, histogram, sturges_edges
from .dists import CategoricalDist, NumericDist
from .kinds import ColumnKind

Dist = NumericDist | CategoricalDist

# TVD's permutation test (Evidently: np.random.seed(0), 1000 iterations)
TVD_ITERATIONS = 1000
TVD_SEED = 0


class MethodNotApplicable(ValueError):
    """The method cannot run on this column (wrong kind, or it needs values a sketch does not keep)."""


@dataclass(frozen=True)
class MethodResult:
    score: float
    drifted: bool
    binning: dict | None = None
    approximate: bool = False


@dataclass(frozen=True)
class Method:
    """A drift method as Evidently registers it: name, display name, kinds, default threshold, score kind."""

    name: str
    display_name: str
    kinds: frozenset[ColumnKind]
    default_threshold: float
    score_kind: str  # "p_value" (small means drift) or "distance" (large means drift)
    run: Callable[[Dist, Dist, float], MethodResult] = field(repr=False, compare=False)

    @property
    def is_p_value(self) -> bool:
        return self.score_kind == "p_value"


def _categorical(d: Dist) -> CategoricalDist:
    if isinstance(d, CategoricalDist):
        return d
    if not d.exact:
        raise MethodNotApplicable("needs the exact value counts, the stored profile only has a sketch of this column")
    return d.as_categorical()


def _exact_sample(d: Dist) -> np.ndarray:
    if not isinstance(d, NumericDist):
        raise MethodNotApplicable("needs numerical values")
    if not d.exact:
        raise MethodNotApplicable("needs the reference values, the stored profile only has a sketch of this column")
    return d.sample()


# --- p-value tests -------------------------------------------------------------------------------------


def _ks(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    p = float(stats.ks_2samp(_exact_sample(ref), _exact_sample(cur))[1])
    return MethodResult(p, p <= threshold)


def _chisquare(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    r, c = _categorical(ref), _categorical(cur)
    keys, ref_counts, cur_counts = align_counts(r, c)
    k_norm = c.n / r.n
    with np.errstate(divide="ignore", invalid="ignore"):  # a key absent from the reference: p = 0, as in Evidently
        p = float(stats.chisquare(cur_counts, ref_counts * k_norm)[1])
    return MethodResult(p, p < threshold, {"rule": "values", "bins": len(keys), "zero_smoothing": False})


def _sort_keys(keys: list) -> list:
    try:
        return sorted(keys)
    except TypeError:  # mixed types: Evidently would fail; order by type then value instead
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _z(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    r, c = _categorical(ref), _categorical(cur)
    info = {"rule": "values", "bins": len(set(r.keys.tolist()) | set(c.keys.tolist())), "zero_smoothing": False}
    if r.nunique == 1 and c.nunique == 1 and r.keys[0] == c.keys[0]:
        return MethodResult(1.0, threshold > 1.0, info)
    keys, ref_counts, cur_counts = align_counts(r, c)
    first = _sort_keys(keys)[0]
    i = keys.index(first)
    # proportion of values that are not the first key, as Evidently's 0/1 recoding
    n1, n2 = r.n, c.n
    p1 = float(n1 - ref_counts[i]) / n1
    p2 = float(n2 - cur_counts[i]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    p = float(2 * (1 - stats.norm.cdf(np.abs(z))))
    return MethodResult(p, p < threshold, info)


def _tvd_statistic(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    return float(0.5 * np.sum(np.abs(ref_counts / ref_counts.sum() - cur_counts / cur_counts.sum())))


def _tvd(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    """TVD with Evidently's permutation p-value: the same RandomState(0) permutations, counted not listed."""
    r, c = _categorical(ref), _categorical(cur)
    keys, ref_counts, cur_counts = align_counts(r, c)
    observed = _tvd_statistic(ref_counts, cur_counts)
    # Evidently pools reference then current values and draws np.random.choice(pool, n_ref, replace=False),
    # which is permutation(len(pool))[:n_ref]; only the key counts of a draw matter, so it draws key codes.
    # The draw depends on the pool's order: with both sides' row order known the p-value is Evidently's;
    # from counts alone (a stored profile) the rows are laid out grouped by key, an equally valid but
    # different permutation sample.
    index = {k: i for i, k in enumerate(keys)}
    pool = np.concatenate([_side_codes(side, index) for side in (r, c)])
    in_row_order = r.codes is not None and c.codes is not None
    total = np.bincount(pool, minlength=len(keys)).astype(np.float64)
    rs = np.random.RandomState(TVD_SEED)  # noqa: NPY002 (Evidently's legacy global RNG, reproduced)
    n_ref = r.n
    hits = 0
    for _ in range(TVD_ITERATIONS):
        draw = rs.permutation(pool.size)[:n_ref]
        new_ref = np.bincount(pool[draw], minlength=len(keys)).astype(np.float64)
        new_cur = total - new_ref
        present = (new_ref + new_cur) > 0
        stat = _tvd_statistic(new_ref[present], new_cur[present])
        hits += observed <= abs(stat)
    p = hits / TVD_ITERATIONS
    info = {
        "rule": "values",
        "bins": len(keys),
        "permutations": TVD_ITERATIONS,
        "seed": TVD_SEED,
        "pool_order": "rows" if in_row_order else "grouped by value",
    }
    return MethodResult(p, p < threshold, info)


def _side_codes(side: CategoricalDist, index: dict) -> np.ndarray:
    """The side's rows as codes into the union `index`, in row order when known."""
    remap = np.array([index[k] for k in side.keys.tolist()], dtype=np.int64)
    if side.codes is not None:
        return remap[side.codes]
    return np.repeat(remap, side.counts)


# --- distances -------------------------------------------------------------------------------------------


def wasserstein_sorted(u: np.ndarray, u_w: np.ndarray, v: np.ndarray, v_w: np.ndarray) -> float:
    """W1 between two weighted distributions whose values are sorted ascending.

    The same sum as scipy.stats.wasserstein_distance: integral of |U - V| over the merged support; the
    merge is a stable sort of two sorted runs, which is linear, instead of scipy's full re-sort.
    """
    all_values = np.concatenate((u, v))
    order = np.argsort(all_values, kind="stable")
    merged = all_values[order]
    from_u = order < u.size
    weights = np.where(from_u, np.concatenate((u_w, np.zeros(v.size)))[order], 0.0)
    u_cdf = np.cumsum(weights)[:-1] / u_w.sum()
    weights_v = np.where(~from_u, np.concatenate((np.zeros(u.size), v_w))[order], 0.0)
    v_cdf = np.cumsum(weights_v)[:-1] / v_w.sum()
    deltas = np.diff(merged)
    return float(np.dot(np.abs(u_cdf - v_cdf), deltas))


def _wasserstein(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    if not isinstance(ref, NumericDist) or not isinstance(cur, NumericDist):
        raise MethodNotApplicable("needs numerical values")
    norm = max(float(ref.std), 0.001)
    w = wasserstein_sorted(ref.values, ref.counts.astype(np.float64), cur.values, cur.counts.astype(np.float64))
    score = w / norm
    return MethodResult(
        score, score >= threshold, {"normed_by": "reference std", "norm": norm}, approximate=not (ref.exact and cur.exact)
    )


def _binned(ref: Dist, cur: Dist, smooth: bool) -> Binned:
    return binned_shares(ref, cur, smooth=smooth)


def _approx(ref: Dist, cur: Dist) -> bool:
    return any(isinstance(d, NumericDist) and not d.exact for d in (ref, cur))


def _jensenshannon(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    b = _binned(ref, cur, smooth=False)
    score = float(distance.jensenshannon(b.reference, b.current, None))
    return MethodResult(score, score >= threshold, b.describe(), _approx(ref, cur))


def _psi(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    b = _binned(ref, cur, smooth=True)
    score = float(np.sum((b.reference - b.current) * np.log(b.reference / b.current)))
    return MethodResult(score, score >= threshold, b.describe(), _approx(ref, cur))


def _kl_div(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    b = _binned(ref, cur, smooth=True)
    score = float(stats.entropy(b.reference, b.current))
    return MethodResult(score, score >= threshold, b.describe(), _approx(ref, cur))


def _hellinger(ref: Dist, cur: Dist, threshold: float) -> MethodResult:
    if isinstance(ref, CategoricalDist) or isinstance(cur, CategoricalDist):
        r, c = _categorical(ref), _categorical(cur)
        keys, ref_counts, cur_counts = align_counts(r, c)
        total = float(np.sum(np.sqrt((ref_counts / r.n) * (cur_counts / c.n))))
        info = {"rule": "values", "bins": len(keys), "zero_smoothing": False}
        approximate = False
    else:
        # Evidently bins numerical values by Sturges over the *distinct* values of both sides, with densities
        if ref.exact and cur.exact:
            n_keys = int(np.union1d(ref.values, cur.values).size)
        else:  # a sketch has no distinct values; continuous data has (nearly) one per row
            n_keys = (ref.nunique or ref.n) + (cur.nunique or cur.n)
        edges = sturges_edges(
            n_keys, min(ref.minimum, cur.minimum), max(ref.maximum, cur.maximum), integer=ref.integer and cur.integer
        )
        widths = np.array(np.diff(edges), float)
        h1 = histogram(ref, edges)
        h2 = histogram(cur, edges)
        d1 = h1 / widths / h1.sum()
        d2 = h2 / widths / h2.sum()
        bin_width = (max(edges) - min(edges)) / (len(edges) - 1)
        total = float(np.sum(np.sqrt(d1 * d2) * bin_width))
        info = {
            "rule": "sturges over distinct values",
            "bins": len(edges) - 1,
            "zero_smoothing": False,
            "range": [float(edges[0]), float(edges[-1])],
        }
        approximate = not (ref.exact and cur.exact)
    score = math.sqrt(1 - float(np.clip(total, 0, 1)))
    return MethodResult(score, score >= threshold, info, approximate)


NUM = frozenset({ColumnKind.NUMERICAL})
CAT = frozenset({ColumnKind.CATEGORICAL})
BOTH = NUM | CAT

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "K-S p_value", NUM, 0.05, "p_value", _ks),
        Method("chisquare", "chi-square p_value", CAT, 0.05, "p_value", _chisquare),
        Method("z", "Z-test p_value", CAT, 0.05, "p_value", _z),
        Method("wasserstein", "Wasserstein distance (normed)", NUM, 0.1, "distance", _wasserstein),
        Method("jensenshannon", "Jensen-Shannon distance", BOTH, 0.1, "distance", _jensenshannon),
        Method("psi", "PSI", BOTH, 0.1, "distance", _psi),
        Method("kl_div", "Kullback-Leibler divergence", BOTH, 0.1, "distance", _kl_div),
        Method("hellinger", "Hellinger distance", BOTH, 0.1, "distance", _hellinger),
        Method("TVD", "Total-Variation-Distance", CAT, 0.1, "p_value", _tvd),
    )
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown drift method {name!r}; known: {', '.join(METHODS)}") from None
