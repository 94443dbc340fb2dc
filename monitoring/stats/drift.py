"""Per-column and dataset drift, with Evidently 0.7.23's rules (see docs/monitoring.md).

`drift_frames(reference, current)` is the whole report on two frames; `column_drift` one column from two
distributions (from frames or from stored profiles); `dataset_drift` the share decision over columns.

Method and threshold resolution follows Evidently's DataDriftOptions: a per-column setting wins over a
setting for the column's kind (`num`/`cat`), which wins over one for all columns, which wins over the
default selection rule (selection.py) and the method's default threshold. Every result records the
method, the threshold and where the threshold came from, the sample sizes and the binning.

Multiple-testing corrections are an option Evidently does not have (off by default, so decisions match
Evidently): `bonferroni` divides each p-value method's threshold by the number of p-value tests;
`bh` (Benjamini-Hochberg) ranks the p-values of the p-value tests and flags the k smallest, k the largest
rank with p_(k) <= k * threshold_(k) / m. Distance methods (Wasserstein, JS, PSI, ...) are not p-values
and are never corrected.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import pandas as pd

from .dists import CategoricalDist, NumericDist, categorical_from_series, numeric_from_series
from .kinds import DRIFT_KINDS, ColumnKind, infer_kind
from .methods import MethodNotApplicable, get_method
from .selection import default_method

Correction = Literal["none", "bonferroni", "bh"]
DEFAULT_DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class DriftOptions:
    """What to test and how; every field optional, the defaults are Evidently's."""

    drift_share: float = DEFAULT_DRIFT_SHARE
    method: str | None = None
    num_method: str | None = None
    cat_method: str | None = None
    per_column_method: Mapping[str, str] = field(default_factory=dict)
    threshold: float | None = None
    num_threshold: float | None = None
    cat_threshold: float | None = None
    per_column_threshold: Mapping[str, float] = field(default_factory=dict)
    correction: Correction = "none"

    def __post_init__(self):
        if not 0 < self.drift_share <= 1:
            raise ValueError("drift_share must be in (0, 1]")
        if self.correction not in ("none", "bonferroni", "bh"):
            raise ValueError("correction must be one of none, bonferroni, bh")
        for name in [self.method, self.num_method, self.cat_method, *self.per_column_method.values()]:
            if name is not None:
                get_method(name)

    def method_for(self, column: str, kind: ColumnKind) -> tuple[str | None, str]:
        if column in self.per_column_method:
            return self.per_column_method[column], "per-column method"
        kind_method = self.num_method if kind == ColumnKind.NUMERICAL else self.cat_method
        if kind_method is not None:
            return kind_method, f"method for {kind.value} columns"
        if self.method is not None:
            return self.method, "method for all columns"
        return None, ""

    def threshold_for(self, column: str, kind: ColumnKind) -> tuple[float | None, str]:
        if column in self.per_column_threshold:
            return float(self.per_column_threshold[column]), "per-column threshold"
        kind_threshold = self.num_threshold if kind == ColumnKind.NUMERICAL else self.cat_threshold
        if kind_threshold is not None:
            return float(kind_threshold), f"threshold for {kind.value} columns"
        if self.threshold is not None:
            return float(self.threshold), "threshold for all columns"
        return None, ""


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift result. A skipped column has `skipped` set and no method or score."""

    name: str
    kind: str
    method: str | None
    method_display: str | None
    score: float | None
    threshold: float | None
    threshold_source: str | None
    drifted: bool
    n_ref: int
    n_cur: int
    n_ref_missing: int = 0
    n_cur_missing: int = 0
    score_kind: str | None = None  # "p_value" or "distance"
    selection: str | None = None  # why this method
    binning: dict | None = None
    approximate: bool = False  # computed from a sketch of a stored profile, not exact values
    corrected_threshold: float | None = None  # the threshold after a multiple-testing correction
    skipped: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DatasetDrift:
    columns: list[ColumnDrift]
    number_of_columns: int
    number_of_drifted_columns: int
    share_drifted: float
    drift_share: float
    dataset_drift: bool
    correction: str = "none"

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.skipped is None]


def column_drift(
    name: str,
    kind: ColumnKind,
    ref: NumericDist | CategoricalDist,
    cur: NumericDist | CategoricalDist,
    options: DriftOptions | None = None,
) -> ColumnDrift:
    """Drift of one column between two distributions of the same kind."""
    options = options or DriftOptions()
    base = {
        "name": name,
        "kind": kind.value,
        "n_ref": ref.n,
        "n_cur": cur.n,
        "n_ref_missing": ref.n_missing,
        "n_cur_missing": cur.n_missing,
    }
    if ref.n == 0 or cur.n == 0:
        side = "reference" if ref.n == 0 else "current"
        return _skipped(base, f"no non-null values in the {side} data")
    chosen, chosen_source = options.method_for(name, kind)
    if chosen is None:
        selection = default_method(kind, ref, cur)
        method = get_method(selection.method)
        why = selection.reason
    else:
        method = get_method(chosen)
        if kind not in method.kinds:
            raise ValueError(f"method {method.name} does not apply to {kind.value} column {name!r}")
        why = chosen_source
    threshold, source = options.threshold_for(name, kind)
    if threshold is None:
        threshold, source = method.default_threshold, f"Evidently default for {method.name}"
    try:
        res = method.run(ref, cur, threshold)
    except MethodNotApplicable as exc:
        return _skipped(base, f"{method.name} {exc}")
    return ColumnDrift(
        **base,
        method=method.name,
        method_display=method.display_name,
        score=float(res.score),
        threshold=threshold,
        threshold_source=source,
        drifted=bool(res.drifted),
        score_kind=method.score_kind,
        selection=why,
        binning=res.binning,
        approximate=res.approximate,
    )


def _skipped(base: dict, reason: str) -> ColumnDrift:
    return ColumnDrift(
        **base, method=None, method_display=None, score=None, threshold=None, threshold_source=None, drifted=False, skipped=reason
    )


def _corrected(columns: list[ColumnDrift], correction: Correction) -> list[ColumnDrift]:
    if correction == "none":
        return columns
    tested = [i for i, c in enumerate(columns) if c.skipped is None and c.score_kind == "p_value"]
    m = len(tested)
    if m == 0:
        return columns
    out = list(columns)
    if correction == "bonferroni":
        for i in tested:
            c = columns[i]
            t = c.threshold / m
            drifted = c.score <= t if c.method == "ks" else c.score < t
            out[i] = replace(c, corrected_threshold=t, drifted=drifted)
        return out
    ranked = sorted(tested, key=lambda i: columns[i].score)
    k_max = 0
    for rank, i in enumerate(ranked, start=1):
        if columns[i].score <= rank * columns[i].threshold / m:
            k_max = rank
    for rank, i in enumerate(ranked, start=1):
        c = columns[i]
        out[i] = replace(c, corrected_threshold=rank * c.threshold / m, drifted=rank <= k_max)
    return out


def dataset_drift(columns: Sequence[ColumnDrift], options: DriftOptions | None = None) -> DatasetDrift:
    """Evidently's get_dataset_drift: share of drifted columns among tested ones, drift if share >= drift_share."""
    options = options or DriftOptions()
    cols = _corrected(list(columns), options.correction)
    tested = [c for c in cols if c.skipped is None]
    drifted = sum(1 for c in tested if c.drifted)
    share = drifted / len(tested) if tested else 0.0
    return DatasetDrift(
        columns=cols,
        number_of_columns=len(tested),
        number_of_drifted_columns=drifted,
        share_drifted=share,
        drift_share=options.drift_share,
        dataset_drift=bool(tested) and share >= options.drift_share,
        correction=options.correction,
    )


def dist_of(series: pd.Series, kind: ColumnKind) -> NumericDist | CategoricalDist:
    if kind == ColumnKind.NUMERICAL:
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            raise ValueError(f"column {series.name!r} should contain numerical values only")
        return numeric_from_series(series)
    return categorical_from_series(series)


def resolve_kinds(
    reference: pd.DataFrame, columns: Iterable[str], kinds: Mapping[str, ColumnKind | str] | None
) -> dict[str, ColumnKind]:
    """Declared kinds where given, Evidently's inference (on the reference) elsewhere."""
    kinds = kinds or {}
    return {c: ColumnKind(kinds[c]) if c in kinds else infer_kind(reference[c]) for c in columns}


def drift_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    options: DriftOptions | None = None,
    workers: int | None = None,
) -> DatasetDrift:
    """The full drift report of `current` against `reference` (columns: those of the reference by default).

    Columns are tested in threads: the heavy parts (sorting, histograms, hashing) run in numpy and pandas
    with the GIL released.
    """
    options = options or DriftOptions()
    names = list(columns) if columns is not None else list(reference.columns)
    missing = [c for c in names if c not in reference.columns or c not in current.columns]
    if missing:
        raise ValueError(f"column(s) not in both datasets: {', '.join(missing)}")
    col_kinds = resolve_kinds(reference, names, kinds)

    def one(name: str) -> ColumnDrift:
        kind = col_kinds[name]
        if kind not in DRIFT_KINDS:
            base = {"name": name, "kind": kind.value, "n_ref": int(reference[name].count()), "n_cur": int(current[name].count())}
            return _skipped(base, f"{kind.value} columns get no drift test")
        return column_drift(name, kind, dist_of(reference[name], kind), dist_of(current[name], kind), options)

    workers = workers or min(len(names), os.cpu_count() or 1) or 1
    if workers == 1:
        results = [one(n) for n in names]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, names))
    return dataset_drift(results, options)
