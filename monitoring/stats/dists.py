"""The two shapes a column's distribution takes inside the engine.

Every drift method works on one of these, whether the values came from a frame just read or from a stored
reference profile, so the same code serves both paths:

- `NumericDist`: sorted distinct values with their counts, plus exact moments. When it was built from raw
  values (or from a profile that kept every distinct value) it is *exact*; when it came from a profile's
  quantile sketch, `values` are centroid means, `counts` are centroid weights and `exact` is False.
- `CategoricalDist`: category keys with their counts (always exact).

Nulls and +/-inf are dropped before a distribution is built (Evidently drops them before any test); the
dropped number is kept in `n_missing` so a result can say how many rows were tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NumericDist:
    values: np.ndarray  # sorted ascending, distinct when exact
    counts: np.ndarray  # int64 when exact, float64 weights for a sketch
    n: int
    mean: float
    std: float  # population standard deviation (ddof=0), as np.std
    minimum: float
    maximum: float
    exact: bool = True
    n_missing: int = 0
    # the column held integers (no nulls); numpy's Sturges rule then uses a bin width of at least 1
    integer: bool = False
    # number of distinct values; None when only a sketch is known (then it is above the profile's cap)
    nunique: int | None = None
    # the raw values in their original order, kept when the dist was built from a frame (KS needs a
    # sample; sorting it again would waste time)
    raw: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the quantile sketch (monitoring.stats.sketch.Sketch) behind an approximate dist
    sketch: object | None = field(default=None, repr=False, compare=False)

    def sample(self) -> np.ndarray:
        """The multiset of values as an array (only for an exact dist)."""
        if not self.exact:
            raise ValueError("an approximate distribution has no sample")
        if self.raw is not None:
            return self.raw
        return np.repeat(self.values, self.counts)

    def as_categorical(self) -> CategoricalDist:
        """The values taken as categories (only for an exact dist)."""
        if not self.exact:
            raise ValueError("an approximate distribution has no exact value counts")
        return CategoricalDist(
            keys=self.values.astype(object), counts=self.counts.astype(np.int64), n=self.n, n_missing=self.n_missing
        )


@dataclass(frozen=True)
class CategoricalDist:
    keys: np.ndarray  # object array of distinct non-null values
    counts: np.ndarray  # int64
    n: int
    n_missing: int = 0
    # per non-null row, in row order, the index of its key (kept when built from a frame: TVD's
    # permutation test draws rows by position, so Evidently's p-value depends on the row order)
    codes: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def nunique(self) -> int:
        return len(self.keys)


def _finite(series: pd.Series) -> tuple[np.ndarray, int]:
    """Float64 values of a numeric series without nulls and +/-inf, and how many were dropped."""
    arr = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(arr)
    if ok.all():
        return arr, 0
    kept = arr[ok]
    return kept, len(arr) - len(kept)


def numeric_from_array(arr: np.ndarray, *, n_missing: int = 0, integer: bool = False) -> NumericDist:
    """An exact NumericDist from finite float64 values (`integer`: they came from an integer column)."""
    if arr.size == 0:
        raise ValueError("no finite values")
    ordered = np.sort(arr, kind="quicksort")
    # distinct values and counts from the sorted run boundaries (cheaper than np.unique's second sort)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    values = ordered[starts]
    counts = np.diff(np.append(starts, ordered.size)).astype(np.int64)
    return NumericDist(
        values=values,
        counts=counts,
        n=int(arr.size),
        mean=float(np.mean(arr)),
        std=float(np.std(arr)),
        minimum=float(ordered[0]),
        maximum=float(ordered[-1]),
        exact=True,
        n_missing=n_missing,
        nunique=int(values.size),
        integer=integer,
        raw=arr,
    )


def numeric_from_series(series: pd.Series) -> NumericDist:
    arr, dropped = _finite(series)
    return numeric_from_array(arr, n_missing=dropped, integer=pd.api.types.is_integer_dtype(series.dtype))


def categorical_from_series(series: pd.Series) -> CategoricalDist:
    """Exact category counts of a series (nulls dropped; +/-inf dropped too, as Evidently does)."""
    if pd.api.types.is_float_dtype(series.dtype):
        series = series.replace([np.inf, -np.inf], np.nan)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    codes = codes[codes >= 0]
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    return CategoricalDist(
        keys=np.asarray(uniques, dtype=object),
        counts=counts,
        n=int(codes.size),
        n_missing=int(len(series) - codes.size),
        codes=codes,
    )
