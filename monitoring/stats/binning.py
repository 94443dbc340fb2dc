"""Evidently's binning, reproduced exactly (Evidently 0.7.23 `stattests/utils.get_binned_data`).

- A numerical column whose *reference* has more than 20 distinct values is cut into Sturges bins computed
  over the reference and current values together (numpy's `histogram_bin_edges(..., "sturges")`); each
  side's share is its count per bin over its size.
- Anything else is binned by value: the keys are the distinct values of both sides, each side's share is
  its count of the key over its size.
- PSI and KL smooth empty bins ("zero smoothing"): a zero share becomes the smallest non-zero share of
  that side divided by 10**6 if that is <= 0.0001, otherwise 0.0001. Jensen-Shannon does not smooth.

`sturges_edges` computes numpy's edges from the combined count, minimum and maximum only, so the edges
can be found without concatenating a million rows (or from a stored profile that only keeps those).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dists import CategoricalDist, NumericDist

# Evidently: `if feature_type == ColumnType.Numerical and n_vals > 20` in get_binned_data
STURGES_MIN_DISTINCT = 21


@dataclass(frozen=True)
class Binned:
    """Both sides' shares over the same bins, and what the bins were (recorded with every result)."""

    reference: np.ndarray
    current: np.ndarray
    rule: str  # "sturges" (equal-width over combined data) or "values" (one bin per distinct value)
    n_bins: int
    smoothed: bool
    edges: np.ndarray | None = None

    def describe(self) -> dict:
        out: dict = {"rule": self.rule, "bins": self.n_bins, "zero_smoothing": self.smoothed}
        if self.rule == "sturges" and self.edges is not None:
            out["range"] = [float(self.edges[0]), float(self.edges[-1])]
        return out


def sturges_edges(n: int, lo: float, hi: float, *, integer: bool = False) -> np.ndarray:
    """Exactly `np.histogram_bin_edges(a, bins="sturges")` for an array `a` of size n, min lo and max hi.

    `integer` says `a` has an integer dtype (numpy then raises a bin width below 1 to 1).
    """
    if integer:
        first, last = np.int64(lo), np.int64(hi)
        # numpy's _unsigned_subtract: the peak-to-peak of signed integers, taken as unsigned
        ptp = np.subtract(np.asarray(last), np.asarray(first), casting="unsafe", dtype=np.uint64)
    else:
        first, last = np.float64(lo), np.float64(hi)
        ptp = last - first
    width = ptp / (np.log2(n) + 1.0)
    if first == last:
        # numpy widens an empty range by 0.5 each side; the width is 0 then, so one bin
        first, last = first - 0.5, last + 0.5
    if width:
        if integer and width < 1:
            width = 1
        n_bins = int(np.ceil(ptp / width))
    else:
        n_bins = 1
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=np.float64)


def histogram(dist: NumericDist, edges: np.ndarray) -> np.ndarray:
    """Counts of `dist` in the bins `edges`, with np.histogram's edge rule (the last bin is closed).

    Exact for an exact dist; for a sketch the counts are read off the sketch's piecewise-linear CDF.
    """
    if not dist.exact:
        from .sketch import sketch_histogram  # the sketch needs its own interpolation

        return sketch_histogram(dist, edges)
    # np.histogram with array bins: searchsorted left on every edge but the last, right on the last
    cum = np.concatenate(([0], np.cumsum(dist.counts)))
    idx = np.searchsorted(dist.values, edges, side="left")
    idx[-1] = np.searchsorted(dist.values, edges[-1], side="right")
    return np.diff(cum[idx]).astype(np.float64)


def _smooth(shares: np.ndarray) -> np.ndarray:
    nonzero = shares[shares != 0]
    low = nonzero.min()
    fill = low / 10**6 if low <= 0.0001 else 0.0001
    out = shares.copy()
    np.place(out, out == 0, fill)
    return out


def _value_shares(ref: CategoricalDist, cur: CategoricalDist) -> tuple[np.ndarray, np.ndarray, int]:
    keys, ref_counts, cur_counts = align_counts(ref, cur)
    return ref_counts / ref.n, cur_counts / cur.n, len(keys)


def align_counts(ref: CategoricalDist, cur: CategoricalDist) -> tuple[list, np.ndarray, np.ndarray]:
    """The union of both sides' keys and each side's count per key (0 where absent)."""
    ref_map = dict(zip(ref.keys.tolist(), ref.counts.tolist(), strict=True))
    cur_map = dict(zip(cur.keys.tolist(), cur.counts.tolist(), strict=True))
    keys = list(ref_map.keys() | cur_map.keys())
    return (
        keys,
        np.array([ref_map.get(k, 0) for k in keys], dtype=np.float64),
        np.array([cur_map.get(k, 0) for k in keys], dtype=np.float64),
    )


def binned_shares(ref: NumericDist | CategoricalDist, cur: NumericDist | CategoricalDist, *, smooth: bool) -> Binned:
    """Evidently's get_binned_data(reference, current, feature_type, n, feel_zeroes=smooth)."""
    if isinstance(ref, NumericDist) and isinstance(cur, NumericDist) and _ref_nunique(ref) >= STURGES_MIN_DISTINCT:
        edges = sturges_edges(
            ref.n + cur.n, min(ref.minimum, cur.minimum), max(ref.maximum, cur.maximum), integer=ref.integer and cur.integer
        )
        r = histogram(ref, edges) / ref.n
        c = histogram(cur, edges) / cur.n
        rule, n_bins = "sturges", len(edges) - 1
    else:
        ref_c = ref.as_categorical() if isinstance(ref, NumericDist) else ref
        cur_c = cur.as_categorical() if isinstance(cur, NumericDist) else cur
        r, c, n_bins = _value_shares(ref_c, cur_c)
        edges, rule = None, "values"
    if smooth:
        r, c = _smooth(r), _smooth(c)
    return Binned(reference=r, current=c, rule=rule, n_bins=n_bins, smoothed=smooth, edges=edges)


def _ref_nunique(ref: NumericDist) -> int:
    # a sketch only exists above the profile's distinct-value cap, which is far above 20
    return ref.nunique if ref.nunique is not None else STURGES_MIN_DISTINCT
