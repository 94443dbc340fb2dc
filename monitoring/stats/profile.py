"""Reference profiles: compact, mergeable summaries of a dataset that stand in for it in drift checks.

A profile keeps, per column:
- numerical: count, missing count, mean and M2 (merged with Chan's formula, so the std is exact),
  min, max, whether the values were integers, the exact value counts while there are at most
  `EXACT_DISTINCT_CAP` distinct values, and a quantile sketch (monitoring.stats.sketch) always;
- categorical: the exact count of every category (up to `CATEGORY_CAP` categories).
Profiles of chunks merge into the profile of their union, so a 10M-row reference is read once, chunk by
chunk, and never again; logged production batches merge into the open window's profile the same way.

A drift result computed from a profile is exact for every categorical column and for every numerical
column below the distinct-value cap (its distribution is known exactly); otherwise it is computed from the
sketch and says so (`approximate: true`). `to_json` / `from_json` give the stored form (plain JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .dists import CategoricalDist, NumericDist, categorical_from_series
from .drift import DatasetDrift, DriftOptions, _skipped, column_drift, dataset_drift, dist_of, resolve_kinds
from .kinds import DRIFT_KINDS, ColumnKind
from .sketch import DEFAULT_DELTA, Sketch

EXACT_DISTINCT_CAP = 2048
CATEGORY_CAP = 100_000
FORMAT_VERSION = 1


@dataclass
class NumericProfile:
    n: int
    n_missing: int
    mean: float
    m2: float
    minimum: float
    maximum: float
    integer: bool
    sketch: Sketch
    values: np.ndarray | None = None  # exact distinct values (sorted) while at most EXACT_DISTINCT_CAP
    counts: np.ndarray | None = None

    kind = ColumnKind.NUMERICAL

    @classmethod
    def from_series(cls, series: pd.Series, delta: float = DEFAULT_DELTA) -> NumericProfile:
        arr = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
        finite = arr[np.isfinite(arr)]
        integer = pd.api.types.is_integer_dtype(series.dtype)
        if finite.size == 0:
            empty = Sketch(np.zeros(0), np.zeros(0), np.inf, -np.inf, delta)
            return cls(0, int(arr.size), 0.0, 0.0, np.inf, -np.inf, integer, empty, np.zeros(0), np.zeros(0, np.int64))
        ordered = np.sort(finite)
        mean = float(np.mean(finite))
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        values = counts = None
        if starts.size <= EXACT_DISTINCT_CAP:
            values = ordered[starts]
            counts = np.diff(np.append(starts, ordered.size)).astype(np.int64)
        return cls(
            n=int(finite.size),
            n_missing=int(arr.size - finite.size),
            mean=mean,
            m2=float(np.sum((finite - mean) ** 2)),
            minimum=float(ordered[0]),
            maximum=float(ordered[-1]),
            integer=integer,
            sketch=Sketch.from_sorted(ordered, delta),
            values=values,
            counts=counts,
        )

    def merge(self, other: NumericProfile) -> NumericProfile:
        if other.n == 0 or self.n == 0:
            base, extra = (self, other) if other.n == 0 else (other, self)
            return NumericProfile(
                **{**base.__dict__, "n_missing": base.n_missing + extra.n_missing, "integer": self.integer and other.integer}
            )
        n = self.n + other.n
        d = other.mean - self.mean
        mean = self.mean + d * other.n / n
        m2 = self.m2 + other.m2 + d * d * self.n * other.n / n
        values = counts = None
        if self.values is not None and other.values is not None:
            allv = np.concatenate((self.values, other.values))
            uniq, inv = np.unique(allv, return_inverse=True)
            if uniq.size <= EXACT_DISTINCT_CAP:
                values, counts = (
                    uniq,
                    np.bincount(inv, weights=np.concatenate((self.counts, other.counts)), minlength=uniq.size).astype(np.int64),
                )
        return NumericProfile(
            n=n,
            n_missing=self.n_missing + other.n_missing,
            mean=mean,
            m2=m2,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            integer=self.integer and other.integer,
            sketch=self.sketch.merge(other.sketch),
            values=values,
            counts=counts,
        )

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else 0.0

    def dist(self) -> NumericDist:
        exact = self.values is not None
        return NumericDist(
            values=self.values if exact else self.sketch.means,
            counts=self.counts if exact else self.sketch.weights,
            n=self.n,
            mean=self.mean,
            std=self.std,
            minimum=self.minimum,
            maximum=self.maximum,
            exact=exact,
            n_missing=self.n_missing,
            nunique=int(self.values.size) if exact else None,
            integer=self.integer,
            sketch=self.sketch,
        )

    def to_json(self) -> dict:
        out = {
            "kind": "num",
            "n": self.n,
            "n_missing": self.n_missing,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.minimum,
            "max": self.maximum,
            "integer": self.integer,
            "sketch": self.sketch.to_json(),
        }
        if self.values is not None:
            out["values"] = self.values.tolist()
            out["counts"] = self.counts.tolist()
        return out

    @classmethod
    def from_json(cls, d: dict) -> NumericProfile:
        has = "values" in d
        return cls(
            n=int(d["n"]),
            n_missing=int(d["n_missing"]),
            mean=float(d["mean"]),
            m2=float(d["m2"]),
            minimum=float(d["min"]),
            maximum=float(d["max"]),
            integer=bool(d["integer"]),
            sketch=Sketch.from_json(d["sketch"]),
            values=np.asarray(d["values"], float) if has else None,
            counts=np.asarray(d["counts"], np.int64) if has else None,
        )


@dataclass
class CategoricalProfile:
    counts: dict = field(default_factory=dict)
    n_missing: int = 0
    overflow: bool = False  # more than CATEGORY_CAP categories: the column cannot be tested from the profile

    kind = ColumnKind.CATEGORICAL

    @classmethod
    def from_series(cls, series: pd.Series) -> CategoricalProfile:
        d = categorical_from_series(series)
        return cls(dict(zip(d.keys.tolist(), d.counts.tolist(), strict=True)), d.n_missing, d.nunique > CATEGORY_CAP)

    @property
    def n(self) -> int:
        return int(sum(self.counts.values()))

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        counts = dict(self.counts)
        for k, v in other.counts.items():
            counts[k] = counts.get(k, 0) + v
        return CategoricalProfile(
            counts, self.n_missing + other.n_missing, self.overflow or other.overflow or len(counts) > CATEGORY_CAP
        )

    def dist(self) -> CategoricalDist:
        keys = np.empty(len(self.counts), dtype=object)
        keys[:] = list(self.counts)
        return CategoricalDist(
            keys=keys, counts=np.fromiter(self.counts.values(), np.int64, len(self.counts)), n=self.n, n_missing=self.n_missing
        )

    def to_json(self) -> dict:
        # JSON keys are strings: keep each key with its type ("s" text, "i" integer, "f" float, "b" bool)
        return {
            "kind": "cat",
            "n_missing": self.n_missing,
            "overflow": self.overflow,
            "counts": [[_tag(k), k, v] for k, v in self.counts.items()],
        }

    @classmethod
    def from_json(cls, d: dict) -> CategoricalProfile:
        return cls({_untag(t, k): int(v) for t, k, v in d["counts"]}, int(d["n_missing"]), bool(d["overflow"]))


def _tag(k) -> str:
    if isinstance(k, bool | np.bool_):
        return "b"
    if isinstance(k, int | np.integer):
        return "i"
    if isinstance(k, float | np.floating):
        return "f"
    return "s"


def _untag(tag: str, k):
    return {"b": bool, "i": int, "f": float}.get(tag, str)(k)


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass
class DatasetProfile:
    """Per-column profiles of a dataset (or of the union of the chunks merged into it)."""

    rows: int
    columns: dict[str, ColumnProfile]
    skipped: dict[str, str] = field(default_factory=dict)  # column -> kind that gets no profile

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, kinds: Mapping[str, ColumnKind | str] | None = None, columns: Sequence[str] | None = None
    ) -> DatasetProfile:
        names = list(columns) if columns is not None else list(frame.columns)
        resolved = resolve_kinds(frame, names, kinds)
        cols: dict[str, ColumnProfile] = {}
        skipped = {}
        for name, kind in resolved.items():
            if kind == ColumnKind.NUMERICAL:
                cols[name] = NumericProfile.from_series(frame[name])
            elif kind == ColumnKind.CATEGORICAL:
                cols[name] = CategoricalProfile.from_series(frame[name])
            else:
                skipped[name] = kind.value
        return cls(len(frame), cols, skipped)

    @classmethod
    def from_chunks(cls, chunks: Iterable[pd.DataFrame], *, kinds: Mapping[str, ColumnKind | str]) -> DatasetProfile:
        """One pass over chunks (e.g. compliance.datasets.read_chunks); kinds must be declared so every chunk agrees."""
        out: DatasetProfile | None = None
        for chunk in chunks:
            p = cls.from_frame(chunk, kinds=kinds, columns=list(kinds))
            out = p if out is None else out.merge(p)
        if out is None:
            raise ValueError("no rows to profile")
        return out

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        if set(self.columns) != set(other.columns):
            raise ValueError("profiles of different columns cannot be merged")
        cols = {}
        for name, p in self.columns.items():
            q = other.columns[name]
            if p.kind != q.kind:
                raise ValueError(f"column {name!r} is {p.kind.value} in one profile and {q.kind.value} in the other")
            cols[name] = p.merge(q)
        return DatasetProfile(self.rows + other.rows, cols, {**self.skipped, **other.skipped})

    def kinds(self) -> dict[str, ColumnKind]:
        return {name: p.kind for name, p in self.columns.items()}

    def to_json(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "rows": self.rows,
            "columns": {n: p.to_json() for n, p in self.columns.items()},
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, data: dict) -> DatasetProfile:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError("unknown profile format")
        cols = {
            n: NumericProfile.from_json(d) if d["kind"] == "num" else CategoricalProfile.from_json(d)
            for n, d in data["columns"].items()
        }
        return cls(int(data["rows"]), cols, dict(data.get("skipped", {})))


def _profile_dist(p: ColumnProfile):
    return p.dist()


def drift_against_profile(
    reference: DatasetProfile,
    current: pd.DataFrame | DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    options: DriftOptions | None = None,
) -> DatasetDrift:
    """Drift of `current` (a frame, or the profile of a window) against a stored reference profile."""
    options = options or DriftOptions()
    names = list(columns) if columns is not None else list(reference.columns)
    missing = [c for c in names if c not in reference.columns and c not in reference.skipped]
    if missing:
        raise ValueError(f"column(s) not in the reference profile: {', '.join(missing)}")
    results = []
    for name in names:
        if name in reference.skipped:  # a kind the profile keeps no statistics of: a skipped row, not a gap
            kind_name = reference.skipped[name]
            if isinstance(current, DatasetProfile):
                n_cur = current.columns[name].n if name in current.columns else 0
            else:
                if name not in current.columns:
                    raise ValueError(f"column {name!r} not in the current data")
                n_cur = int(current[name].count())
            base = {"name": name, "kind": kind_name, "n_ref": reference.rows, "n_cur": n_cur}
            results.append(_skipped(base, f"{kind_name} columns get no drift test (n_ref: the profile's rows)"))
            continue
        ref_p = reference.columns[name]
        kind = ref_p.kind
        if isinstance(current, DatasetProfile):
            if name not in current.columns:
                raise ValueError(f"column {name!r} not in the current profile")
            cur_d = current.columns[name].dist()
        else:
            if name not in current.columns:
                raise ValueError(f"column {name!r} not in the current data")
            cur_d = dist_of(current[name], kind)
        if isinstance(ref_p, CategoricalProfile) and ref_p.overflow:
            results.append(
                _skipped(
                    {"name": name, "kind": kind.value, "n_ref": ref_p.n, "n_cur": cur_d.n}, f"more than {CATEGORY_CAP} categories"
                )
            )
            continue
        if kind not in DRIFT_KINDS:  # pragma: no cover - profiles only hold num and cat columns
            continue
        results.append(column_drift(name, kind, ref_p.dist(), cur_d, options))
    return dataset_drift(results, options)
