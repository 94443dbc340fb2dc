"""Evidently 0.7.23's default drift method for a column (`registry._get_default_stattest`).

- reference <= 1000 rows: numerical with more than 5 distinct values (both sides together) -> `ks`;
  numerical with 3 to 5 -> `chisquare`; with at most 2 -> `z`; categorical: `chisquare` above 2 distinct
  values, `z` otherwise.
- reference > 1000 rows: numerical with more than 5 distinct values -> `wasserstein`; otherwise (numerical
  with at most 5, or categorical) -> `jensenshannon`.

"Rows" counts the reference's non-null values of the column, as Evidently does after dropping nulls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dists import CategoricalDist, NumericDist
from .kinds import ColumnKind

SMALL_REFERENCE_ROWS = 1000
FEW_DISTINCT = 5
BINARY = 2


@dataclass(frozen=True)
class Selection:
    method: str
    reason: str


def combined_nunique(ref: NumericDist | CategoricalDist, cur: NumericDist | CategoricalDist, *, cap: int = FEW_DISTINCT) -> int:
    """Distinct values of both sides together, exact up to `cap` (above it, some number > cap)."""
    r_n, c_n = ref.nunique, cur.nunique
    if r_n is None or c_n is None or r_n > cap or c_n > cap:
        return max(r_n or cap + 1, c_n or cap + 1, cap + 1)
    if isinstance(ref, NumericDist) and isinstance(cur, NumericDist):
        return int(np.union1d(ref.values, cur.values).size)
    return len(set(_keys(ref)) | set(_keys(cur)))


def _keys(d: NumericDist | CategoricalDist) -> list:
    return d.values.tolist() if isinstance(d, NumericDist) else d.keys.tolist()


def default_method(kind: ColumnKind, ref: NumericDist | CategoricalDist, cur: NumericDist | CategoricalDist) -> Selection:
    n_values = combined_nunique(ref, cur)
    values = f"{n_values} distinct values" if n_values <= FEW_DISTINCT else f"more than {FEW_DISTINCT} distinct values"
    if ref.n <= SMALL_REFERENCE_ROWS:
        size = f"reference has {ref.n} rows (<= {SMALL_REFERENCE_ROWS})"
        if kind == ColumnKind.NUMERICAL and n_values > FEW_DISTINCT:
            method = "ks"
        else:
            method = "chisquare" if n_values > BINARY else "z"
    else:
        size = f"reference has {ref.n} rows (> {SMALL_REFERENCE_ROWS})"
        method = "wasserstein" if kind == ColumnKind.NUMERICAL and n_values > FEW_DISTINCT else "jensenshannon"
    return Selection(method, f"Evidently default: {size}, {kind.value} column with {values}")
