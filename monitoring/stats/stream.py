"""Running statistics of an open chunk of production data: what a check needs, merged batch by batch.

``ChunkState.add(frame)`` folds one logged batch into the state and ``merge`` joins two states, so the
state of a chunk is built from each batch once, and the drift and data-quality checks of the chunk read
the state instead of the batches:

- drift: the mergeable ``DatasetProfile`` of the features (monitoring.stats.profile), profiled with the
  *reference's* column kinds so every batch agrees; exact (distinct values with counts) while a numerical
  feature has at most ``EXACT_DISTINCT_CAP`` distinct values in the chunk, a quantile sketch beyond
  (the result then says ``approximate``);
- quality (``quality_from_state`` gives the same results as ``monitoring.stats.quality.run_checks`` on
  the concatenated batches): the union of the batches' columns and each feature's type families (schema),
  per-feature missing counts (null share), values outside the reference's range (out of range), values
  in categories the reference never had (new categories), sorted 64-bit hashes of the uniqueness columns'
  values (up to ``MAX_UNIQUE_HASHES`` per column; beyond, uniqueness is not checked from the state and
  the result says so), the row count and the newest timestamp.

Nothing here holds a raw row: hashes, counts, families and the profile (whose categorical counts name
categories, as a stored reference profile does).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from .kinds import ColumnKind
from .profile import DatasetProfile
from .quality import (
    QualityConfig,
    QualityResult,
    ReferenceSummary,
    column_not_checked,
    family_of,
    freshness_none,
    freshness_verdict,
    new_categories_verdict,
    not_checked,
    null_share_verdict,
    out_of_range_verdict,
    row_count_verdict,
    schema_verdict,
    uniqueness_missing,
    uniqueness_none,
    uniqueness_verdict,
    unprofiled_not_checked,
)

MAX_UNIQUE_HASHES = 200_000


def _hashes(values: pd.Series) -> np.ndarray:
    return np.unique(pd.util.hash_pandas_object(values, index=False).to_numpy(np.uint64))


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(arr.astype("<u8").tobytes()).decode()


def _unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<u8").astype(np.uint64)


@dataclass
class UniqueCount:
    """Distinct values of one column over the chunk, as sorted value hashes (None once over the cap)."""

    values: int = 0
    hashes: np.ndarray | None = field(default_factory=lambda: np.zeros(0, np.uint64))

    def add(self, series: pd.Series) -> None:
        values = series.dropna()
        self.values += int(len(values))
        if self.hashes is None:
            return
        merged = np.union1d(self.hashes, _hashes(values)) if len(values) else self.hashes
        self.hashes = merged if merged.size <= MAX_UNIQUE_HASHES else None

    def merge(self, other: UniqueCount) -> UniqueCount:
        if self.hashes is None or other.hashes is None:
            return UniqueCount(self.values + other.values, None)
        merged = np.union1d(self.hashes, other.hashes)
        return UniqueCount(self.values + other.values, merged if merged.size <= MAX_UNIQUE_HASHES else None)

    def to_json(self) -> dict:
        return {"values": self.values, "hashes": None if self.hashes is None else _b64(self.hashes)}

    @classmethod
    def from_json(cls, d: Mapping) -> UniqueCount:
        return cls(int(d["values"]), None if d["hashes"] is None else _unb64(d["hashes"]))


@dataclass
class ChunkState:
    """The running statistics of a chunk (see the module docstring)."""

    features: list[str]
    kinds: dict[str, str]  # the reference's kinds of the features (num, cat, or a kind without a drift test)
    rows: int = 0
    profile: DatasetProfile | None = None
    columns_seen: list[str] = field(default_factory=list)
    families: dict[str, list[str]] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)
    new_values: dict[str, int] = field(default_factory=dict)
    unique: dict[str, UniqueCount] = field(default_factory=dict)
    newest: dict[str, str] = field(default_factory=dict)  # timestamp column -> ISO time of its latest value

    @classmethod
    def empty(cls, features: Sequence[str], kinds: Mapping[str, ColumnKind | str]) -> ChunkState:
        return cls(list(features), {f: ColumnKind(kinds[f]).value for f in features})

    # --- folding a batch in --------------------------------------------------------------------------

    def _profiled(self, frame: pd.DataFrame) -> DatasetProfile:
        """The batch's profile of the drift-tested features, a missing column counted as all missing; a
        numerical feature that arrived as something else is read as numbers where it can be (the schema
        check reports the change)."""
        tested = [f for f in self.features if self.kinds[f] in ("num", "cat")]
        data = {}
        for f in tested:
            s = frame[f] if f in frame.columns else pd.Series([None] * len(frame), dtype=object)
            if self.kinds[f] == "num" and (not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
                s = pd.to_numeric(s.astype(object).where(s.notna(), None), errors="coerce").astype(float)
            data[f] = s.reset_index(drop=True)
        batch = pd.DataFrame(data, index=pd.RangeIndex(len(frame)))
        return DatasetProfile.from_frame(batch, kinds={f: self.kinds[f] for f in tested}, columns=tested)

    def add(
        self,
        frame: pd.DataFrame,
        *,
        reference: ReferenceSummary,
        config: QualityConfig,
        id_column: str | None = None,
    ) -> None:
        """Fold one batch (its rows as logged) into the state."""
        n = len(frame)
        if n == 0:
            return
        profile = self._profiled(frame)
        self.profile = profile if self.profile is None else self.profile.merge(profile)
        self.rows += n
        self.columns_seen = sorted(set(self.columns_seen) | {str(c) for c in frame.columns})
        for f in self.features:
            if f not in frame.columns:
                self.nulls[f] = self.nulls.get(f, 0) + n
                continue
            s = frame[f]
            missing = int(s.isna().sum())
            self.nulls[f] = self.nulls.get(f, 0) + missing
            if missing < n:
                fams = set(self.families.get(f, [])) | {family_of(s)}
                self.families[f] = sorted(fams)
            ref = reference.columns.get(f)
            if ref is None or missing == n:
                continue
            values = s.dropna()
            if ref.kind == ColumnKind.NUMERICAL and ref.minimum is not None:
                v = pd.to_numeric(values, errors="coerce")
                self.outside[f] = self.outside.get(f, 0) + int(((v < ref.minimum) | (v > ref.maximum)).sum())
            if ref.kind == ColumnKind.CATEGORICAL and ref.categories is not None:
                self.new_values[f] = self.new_values.get(f, 0) + int((~values.isin(list(ref.categories))).sum())
        for col in _unique_columns(config, id_column, frame.columns, self.columns_seen):
            if col in frame.columns:
                self.unique.setdefault(col, UniqueCount()).add(frame[col])
        ts_col = _timestamp_column(config)
        if ts_col and ts_col in frame.columns:
            ts = pd.to_datetime(frame[ts_col], utc=True, errors="coerce").max()
            if not pd.isna(ts):
                known = self.newest.get(ts_col)
                if known is None or pd.Timestamp(known) < ts:
                    self.newest[ts_col] = ts.isoformat()

    def merge(self, other: ChunkState) -> ChunkState:
        if self.features != other.features:
            raise ValueError("chunk states of different features cannot be merged")

        def add_counts(a: dict, b: dict) -> dict:
            return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}

        if self.profile is None or other.profile is None:
            profile = self.profile or other.profile
        else:
            profile = self.profile.merge(other.profile)
        unique = dict(self.unique)
        for k, u in other.unique.items():
            unique[k] = unique[k].merge(u) if k in unique else u
        newest = dict(self.newest)
        for k, t in other.newest.items():
            if k not in newest or pd.Timestamp(newest[k]) < pd.Timestamp(t):
                newest[k] = t
        return ChunkState(
            features=list(self.features),
            kinds=dict(self.kinds),
            rows=self.rows + other.rows,
            profile=profile,
            columns_seen=sorted(set(self.columns_seen) | set(other.columns_seen)),
            families={
                k: sorted(set(self.families.get(k, [])) | set(other.families.get(k, [])))
                for k in sorted(set(self.families) | set(other.families))
            },
            nulls=add_counts(self.nulls, other.nulls),
            outside=add_counts(self.outside, other.outside),
            new_values=add_counts(self.new_values, other.new_values),
            unique=unique,
            newest=newest,
        )

    # --- stored form --------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "features": self.features,
            "kinds": self.kinds,
            "rows": self.rows,
            "profile": None if self.profile is None else self.profile.to_json(),
            "columns_seen": self.columns_seen,
            "families": self.families,
            "nulls": self.nulls,
            "outside": self.outside,
            "new_values": self.new_values,
            "unique": {k: u.to_json() for k, u in self.unique.items()},
            "newest": self.newest,
        }

    @classmethod
    def from_json(cls, d: Mapping) -> ChunkState:
        return cls(
            features=list(d["features"]),
            kinds=dict(d["kinds"]),
            rows=int(d["rows"]),
            profile=None if d["profile"] is None else DatasetProfile.from_json(d["profile"]),
            columns_seen=list(d["columns_seen"]),
            families={k: list(v) for k, v in d["families"].items()},
            nulls={k: int(v) for k, v in d["nulls"].items()},
            outside={k: int(v) for k, v in d["outside"].items()},
            new_values={k: int(v) for k, v in d["new_values"].items()},
            unique={k: UniqueCount.from_json(v) for k, v in d["unique"].items()},
            newest=dict(d["newest"]),
        )


def _unique_columns(config: QualityConfig, id_column: str | None, columns, seen: Sequence[str]) -> list[str]:
    p = config.checks.get("uniqueness")
    if p is None:
        return []
    if p.get("columns"):
        return list(p["columns"])
    return [id_column] if id_column and (id_column in columns or id_column in seen) else []


def _timestamp_column(config: QualityConfig) -> str | None:
    p = config.checks.get("freshness")
    return None if p is None else p.get("timestamp_column")


def quality_from_state(
    reference: ReferenceSummary,
    state: ChunkState,
    *,
    config: QualityConfig,
    ignore_added: Sequence[str] = (),
    id_column: str | None = None,
    newest_arrival: datetime | None = None,
    now: datetime | None = None,
) -> list[QualityResult]:
    """``run_checks`` from a chunk's running statistics: the same checks, scores, thresholds and rules as
    on the concatenated batches (tests/monitoring/test_stream.py compares them)."""
    out: list[QualityResult] = []
    c = config.checks
    features = state.features
    seen = set(state.columns_seen)
    present = [f for f in features if f in seen and f in reference.columns]
    if c["schema"] is not None:
        removed = [f for f in features if f in reference.columns and f not in seen]
        known = set(reference.columns) | set(ignore_added) | set(features)
        added = [col for col in state.columns_seen if col not in known]
        changed = [f for f in present if state.families.get(f) and state.families[f] != [reference.columns[f].family]]
        out.append(schema_verdict(removed, added, changed, c["schema"]))
    rows = state.rows
    for f in present:
        ref = reference.columns[f]
        if c["null_share"] is not None and rows:
            out.append(null_share_verdict(f, state.nulls.get(f, 0) / rows, rows, ref.null_share, c["null_share"]))
        values = rows - state.nulls.get(f, 0)
        out += column_not_checked(f, ref, rows, values, c)
        if not values:
            continue
        if ref.kind == ColumnKind.NUMERICAL and c["out_of_range"] is not None and ref.minimum is not None:
            out.append(out_of_range_verdict(f, state.outside.get(f, 0), values, [ref.minimum, ref.maximum], c["out_of_range"]))
        if ref.kind == ColumnKind.CATEGORICAL and c["new_categories"] is not None and ref.categories is not None:
            prof = state.profile.columns.get(f) if state.profile is not None else None
            distinct = (
                sum(1 for k in prof.counts if k not in ref.categories) if prof is not None and hasattr(prof, "counts") else None
            )
            out.append(new_categories_verdict(f, state.new_values.get(f, 0), distinct, values, c["new_categories"]))
    out += unprofiled_not_checked(features, reference, lambda f: f in seen, c)
    if c["uniqueness"] is not None:
        p = c["uniqueness"]
        cols = p.get("columns") or ([id_column] if id_column and id_column in seen else [])
        if not cols:
            out.append(uniqueness_none(id_column, p))
        for col in cols:
            if col not in seen:
                out.append(uniqueness_missing(col, p))
                continue
            u = state.unique.get(col, UniqueCount())
            if u.hashes is None:
                limit = float((p.get("per_column") or {}).get(col, p["min"]))
                reason = (
                    f"more than {MAX_UNIQUE_HASHES:,} distinct values in the open chunk, more than its running "
                    "statistics keep; the chunk's closing run checks it from the rows"
                )
                out.append(not_checked("uniqueness", col, limit, reason))
                continue
            out.append(uniqueness_verdict(col, int(u.hashes.size), int(u.values), p))
    if c["row_count"] is not None:
        out.append(row_count_verdict(rows, c["row_count"]))
    if c["freshness"] is not None:
        p = c["freshness"]
        now = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
        ts_col = p.get("timestamp_column")
        newest, basis = None, None
        if ts_col and ts_col in seen:
            ts = state.newest.get(ts_col)
            newest, basis = (None if ts is None else pd.Timestamp(ts).to_pydatetime()), f"latest {ts_col}"
        elif newest_arrival is not None:
            newest, basis = newest_arrival, "newest batch's arrival"
        if newest is not None:
            out.append(freshness_verdict(newest, basis, p, now))
        else:
            out.append(freshness_none(ts_col, bool(ts_col and ts_col in seen), p))
    return out
