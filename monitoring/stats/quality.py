"""Data-quality checks of current data against its reference (the checks people write in Great
Expectations or OpenMetadata test suites), each with a threshold and the rule it applied.

Checks (``QualityConfig``, stored as a monitor's ``quality_checks`` JSON; every key optional):

=================  ===============================================================  =====================
check              score                                                            fails when
=================  ===============================================================  =====================
``schema``         number of changes: reference column missing, column added, type  score > ``max_changes``
                   family changed (numeric / text / bool / datetime)                 (default 0)
``null_share``     share of missing values in a column                              score > reference share
                                                                                    + ``tolerance`` (0.05),
                                                                                    or > ``max`` if given
``out_of_range``   share of a numeric column's values outside the reference's       score > ``max`` (0.01)
                   [min, max]
``new_categories`` share of a categorical column's values in categories the         score > ``max`` (0.0)
                   reference never had
``uniqueness``     distinct share (distinct / non-missing) of the listed columns    score < ``min`` (1.0)
                   (default: the prediction id, when present)
``row_count``      rows in the current window                                       outside [``min``, ``max``]
                                                                                    (default [1, none])
``freshness``      minutes since the newest data (``timestamp_column``'s latest     score > ``max_age_minutes``
                   value, else the newest batch's arrival)                           (default 1440)
=================  ===============================================================  =====================

Set a check to ``false`` to switch it off; ``per_column`` maps a column to its own threshold. The
reference is summarised from a frame or from a stored profile (``ReferenceSummary``), so a check never
re-reads a large reference. Results name columns and counts, never values.

A switched-on check that cannot be computed is never dropped: it gives a *not checked* result
(``score`` None, ``failed`` False, ``rule`` "not checked: <reason>", ``details["not_checked"]`` the
reason), e.g. a window without rows, a column without values on one side, a reference profile that
keeps no full category list, no uniqueness column, or no time to judge freshness by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from .kinds import ColumnKind

CHECKS = ("schema", "null_share", "out_of_range", "new_categories", "uniqueness", "row_count", "freshness")
DEFAULTS: dict[str, dict[str, Any]] = {
    "schema": {"max_changes": 0},
    "null_share": {"tolerance": 0.05, "max": None},
    "out_of_range": {"max": 0.01},
    "new_categories": {"max": 0.0},
    "uniqueness": {"min": 1.0, "columns": None},
    "row_count": {"min": 1, "max": None},
    "freshness": {"max_age_minutes": 1440, "timestamp_column": None},
}
KNOWN_KEYS = {check: set(d) | {"per_column"} for check, d in DEFAULTS.items()}


@dataclass(frozen=True)
class QualityConfig:
    checks: dict[str, dict[str, Any] | None]  # check -> parameters; None: switched off

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> QualityConfig:
        data = dict(data or {})
        unknown = set(data) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown quality check(s): {', '.join(sorted(unknown))}")
        checks: dict[str, dict[str, Any] | None] = {}
        for name in CHECKS:
            given = data.get(name, True)
            if given is False:
                checks[name] = None
                continue
            params = dict(DEFAULTS[name])
            if isinstance(given, Mapping):
                bad = set(given) - KNOWN_KEYS[name]
                if bad:
                    raise ValueError(f"quality check {name}: unknown parameter(s) {', '.join(sorted(bad))}")
                params.update(given)
            elif given is not True:
                raise ValueError(f"quality check {name}: true, false or an object of parameters")
            for key, value in params.items():
                if key in ("columns", "timestamp_column", "per_column") or value is None:
                    continue
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"quality check {name}: {key} must be a non-negative number")
            checks[name] = params
        return cls(checks)


@dataclass(frozen=True)
class ColumnSummary:
    kind: ColumnKind
    family: str  # numeric, text, bool, datetime
    null_share: float
    minimum: float | None = None
    maximum: float | None = None
    categories: frozenset | None = None  # None: unknown (too many to keep)


@dataclass(frozen=True)
class ReferenceSummary:
    columns: dict[str, ColumnSummary]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> ReferenceSummary:
        out = {}
        for name, kind in kinds.items():
            s = frame[name]
            share = float(s.isna().mean()) if len(s) else 0.0
            if kind == ColumnKind.NUMERICAL:
                v = pd.to_numeric(s, errors="coerce")
                lo, hi = (float(v.min()), float(v.max())) if v.notna().any() else (None, None)
                out[name] = ColumnSummary(kind, family_of(s), share, lo, hi)
            else:
                out[name] = ColumnSummary(kind, family_of(s), share, categories=frozenset(s.dropna().unique().tolist()))
        return cls(out)

    @classmethod
    def from_profile(cls, profile) -> ReferenceSummary:
        out = {}
        for name, p in profile.columns.items():
            total = p.n + p.n_missing
            share = p.n_missing / total if total else 0.0
            if p.kind == ColumnKind.NUMERICAL:
                lo, hi = (p.minimum, p.maximum) if p.n else (None, None)
                out[name] = ColumnSummary(p.kind, "numeric", share, lo, hi)
            else:
                cats = None if p.overflow else frozenset(p.counts)
                family = "bool" if cats and all(isinstance(k, bool | np.bool_) for k in cats) else "text"
                out[name] = ColumnSummary(p.kind, family, share, categories=cats)
        return cls(out)

    def to_json(self, *, category_cap: int = 100_000) -> dict[str, Any]:
        """A stored baseline (``QualitySuite.baseline``): per column its kind, type family, null share,
        range and, for a categorical column only, its categories when there are at most ``category_cap``
        of JSON type (str, int, float, bool); otherwise ``null`` (``new_categories`` is then not checked)."""
        out = {}
        for name, c in self.columns.items():
            cats = None
            if c.kind == ColumnKind.CATEGORICAL and c.categories is not None and len(c.categories) <= category_cap:
                plain = [v.item() if isinstance(v, np.generic) else v for v in c.categories]
                if all(isinstance(v, str | int | float | bool) for v in plain):
                    cats = sorted(plain, key=lambda v: (type(v).__name__, v))
            out[name] = {
                "kind": c.kind.value,
                "family": c.family,
                "null_share": c.null_share,
                "minimum": c.minimum,
                "maximum": c.maximum,
                "categories": cats,
            }
        return {"columns": out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReferenceSummary:
        out = {}
        for name, c in (data or {}).get("columns", {}).items():
            cats = c.get("categories")
            out[name] = ColumnSummary(
                ColumnKind(c["kind"]),
                c["family"],
                float(c["null_share"]),
                c.get("minimum"),
                c.get("maximum"),
                categories=None if cats is None else frozenset(cats),
            )
        return cls(out)


def family_of(series: pd.Series) -> str:
    dt = series.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_numeric_dtype(dt):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    return "text"


@dataclass(frozen=True)
class QualityResult:
    check: str
    column: str | None
    score: float | None  # None: not checked (``details["not_checked"]`` says why)
    threshold: float | None
    failed: bool
    rule: str
    details: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.check if self.column is None else f"{self.check}:{self.column}"


# --- verdicts: one check's result from its statistics, shared by run_checks (a window's rows) and
# monitoring.stats.stream.quality_from_state (a chunk's running statistics), so both paths always
# apply the same thresholds and rules ---------------------------------------------------------------


def not_checked(check: str, column: str | None, threshold: float | None, reason: str) -> QualityResult:
    """A switched-on check that could not be computed: no score, not failed, the reason in its row."""
    return QualityResult(check, column, None, threshold, False, f"not checked: {reason}"[:200], {"not_checked": reason})


def null_share_limit(f: str, reference_share: float, p: dict) -> float:
    per = (p.get("per_column") or {}).get(f)
    if per is not None:
        return float(per)
    return float(p["max"]) if p.get("max") is not None else reference_share + float(p["tolerance"])


def column_not_checked(f: str, ref: ColumnSummary, rows: int, values: int, c: Mapping) -> list[QualityResult]:
    """The per-column checks of ``f`` that cannot be computed: a window without rows (null share), no
    non-missing value in the window, or a reference without values / without its full category list."""
    out = []
    if c["null_share"] is not None and not rows:
        out.append(not_checked("null_share", f, null_share_limit(f, ref.null_share, c["null_share"]), "the window has no rows"))
    if ref.kind == ColumnKind.NUMERICAL and c["out_of_range"] is not None:
        limit = float((c["out_of_range"].get("per_column") or {}).get(f, c["out_of_range"]["max"]))
        if ref.minimum is None:
            out.append(not_checked("out_of_range", f, limit, "the reference has no numeric value in this column"))
        elif not values:
            out.append(not_checked("out_of_range", f, limit, "no non-missing value in the window"))
    if ref.kind == ColumnKind.CATEGORICAL and c["new_categories"] is not None:
        limit = float((c["new_categories"].get("per_column") or {}).get(f, c["new_categories"]["max"]))
        if ref.categories is None:
            out.append(
                not_checked("new_categories", f, limit, "the reference profile keeps no full category list (too many categories)")
            )
        elif not values:
            out.append(not_checked("new_categories", f, limit, "no non-missing value in the window"))
    return out


def unprofiled_not_checked(
    features: Sequence[str], reference: ReferenceSummary, present_in_data, c: Mapping
) -> list[QualityResult]:
    """Null share of the features the reference summary has no statistics of (a stored profile keeps
    numerical and categorical columns only): not checked, said per column."""
    if c["null_share"] is None:
        return []
    reason = "the reference keeps no statistics of this column (a stored profile holds numerical and categorical columns)"
    return [not_checked("null_share", f, None, reason) for f in features if f not in reference.columns and present_in_data(f)]


def uniqueness_none(id_column: str | None, p: dict) -> QualityResult:
    """Uniqueness is on but has no column: none listed, and the monitor's id column absent or unset."""
    if id_column:
        return not_checked(
            "uniqueness", id_column, float(p["min"]), "the id column is not in the window and no columns are listed"
        )
    return not_checked(
        "uniqueness",
        None,
        float(p["min"]),
        "no column to check: list uniqueness.columns in the checks (a monitor also uses its id_column)",
    )


def freshness_none(ts_col: str | None, in_data: bool, p: dict) -> QualityResult:
    """Freshness is on but there is no time to judge it by."""
    limit = float(p["max_age_minutes"])
    if ts_col and in_data:
        return not_checked("freshness", None, limit, f"{ts_col} holds no valid time")
    if ts_col:
        return not_checked("freshness", None, limit, f"{ts_col} is not in the data and no batch arrival time is known")
    return not_checked("freshness", None, limit, "no timestamp_column and no batch arrival time")


def schema_verdict(removed: list, added: list, changed: list, p: dict) -> QualityResult:
    limit = float(p["max_changes"])
    n = len(removed) + len(added) + len(changed)
    return QualityResult(
        "schema",
        None,
        float(n),
        limit,
        n > limit,
        f"columns removed, added or changed type > {limit:g}",
        {"removed": removed, "added": added, "type_changed": changed},
    )


def null_share_verdict(f: str, share: float, rows: int, reference_share: float, p: dict) -> QualityResult:
    limit = null_share_limit(f, reference_share, p)
    if (p.get("per_column") or {}).get(f) is not None:
        rule = "null share > per-column maximum"
    elif p.get("max") is not None:
        rule = "null share > maximum"
    else:
        rule = f"null share > reference share + {p['tolerance']:g}"
    return QualityResult("null_share", f, share, limit, share > limit, rule, {"reference": reference_share, "rows": rows})


def out_of_range_verdict(f: str, outside: int, values: int, value_range: list, p: dict) -> QualityResult:
    share = outside / values
    limit = float((p.get("per_column") or {}).get(f, p["max"]))
    return QualityResult(
        "out_of_range",
        f,
        share,
        limit,
        share > limit,
        f"share outside the reference range > {limit:g}",
        {"outside": outside, "values": values, "range": value_range},
    )


def new_categories_verdict(f: str, new_values: int, new_categories: int | None, values: int, p: dict) -> QualityResult:
    share = new_values / values
    limit = float((p.get("per_column") or {}).get(f, p["max"]))
    return QualityResult(
        "new_categories",
        f,
        share,
        limit,
        share > limit,
        f"share of values in categories the reference never had > {limit:g}",
        {"new_values": new_values, "new_categories": new_categories, "values": values},
    )


def uniqueness_missing(col: str, p: dict) -> QualityResult:
    return QualityResult("uniqueness", col, 0.0, float(p["min"]), True, "column missing", {})


def uniqueness_verdict(col: str, distinct: int, values: int, p: dict) -> QualityResult:
    share = float(distinct / values) if values else 1.0
    limit = float((p.get("per_column") or {}).get(col, p["min"]))
    return QualityResult(
        "uniqueness",
        col,
        share,
        limit,
        share < limit,
        f"distinct share < {limit:g}",
        {"duplicates": int(values - distinct), "values": int(values)},
    )


def row_count_verdict(rows: int, p: dict) -> QualityResult:
    lo, hi = float(p["min"]), (None if p.get("max") is None else float(p["max"]))
    n = float(rows)
    failed = n < lo or (hi is not None and n > hi)
    return QualityResult(
        "row_count", None, n, lo, failed, f"rows outside [{lo:g}, {'none' if hi is None else f'{hi:g}'}]", {"min": lo, "max": hi}
    )


def freshness_verdict(newest: datetime, basis: str, p: dict, now: datetime) -> QualityResult:
    age = max((now - newest).total_seconds() / 60.0, 0.0)
    limit = float(p["max_age_minutes"])
    return QualityResult("freshness", None, age, limit, age > limit, f"minutes since the {basis} > {limit:g}", {"basis": basis})


def run_checks(
    reference: ReferenceSummary,
    current: pd.DataFrame,
    *,
    features: Sequence[str],
    config: QualityConfig,
    ignore_added: Sequence[str] = (),
    id_column: str | None = None,
    newest_arrival: datetime | None = None,
    arrival_basis: str = "newest batch's arrival",
    now: datetime | None = None,
) -> list[QualityResult]:
    """Every switched-on check on ``current`` (the window) against ``reference`` for ``features``."""
    out: list[QualityResult] = []
    c = config.checks
    present = [f for f in features if f in current.columns and f in reference.columns]
    if c["schema"] is not None:
        removed = [f for f in features if f in reference.columns and f not in current.columns]
        known = set(reference.columns) | set(ignore_added) | set(features)
        added = [col for col in current.columns if col not in known]
        changed = [f for f in present if family_of(current[f]) != reference.columns[f].family and not current[f].isna().all()]
        out.append(schema_verdict(removed, added, changed, c["schema"]))
    for f in present:
        ref = reference.columns[f]
        s = current[f]
        rows = len(s)
        if c["null_share"] is not None and rows:
            out.append(null_share_verdict(f, float(s.isna().mean()), rows, ref.null_share, c["null_share"]))
        values = s.dropna()
        out += column_not_checked(f, ref, rows, int(len(values)), c)
        if not len(values):
            continue
        if ref.kind == ColumnKind.NUMERICAL and c["out_of_range"] is not None and ref.minimum is not None:
            v = pd.to_numeric(values, errors="coerce")
            outside = int(((v < ref.minimum) | (v > ref.maximum)).sum())
            out.append(out_of_range_verdict(f, outside, int(len(v)), [ref.minimum, ref.maximum], c["out_of_range"]))
        if ref.kind == ColumnKind.CATEGORICAL and c["new_categories"] is not None and ref.categories is not None:
            new = ~values.isin(list(ref.categories))
            out.append(
                new_categories_verdict(f, int(new.sum()), int(values[new].nunique()), int(len(values)), c["new_categories"])
            )
    out += unprofiled_not_checked(features, reference, lambda f: f in current.columns, c)
    if c["uniqueness"] is not None:
        p = c["uniqueness"]
        cols = p.get("columns") or ([id_column] if id_column and id_column in current.columns else [])
        if not cols:
            out.append(uniqueness_none(id_column, p))
        for col in cols:
            if col not in current.columns:
                out.append(uniqueness_missing(col, p))
                continue
            values = current[col].dropna()
            out.append(uniqueness_verdict(col, int(values.nunique()), int(len(values)), p))
    if c["row_count"] is not None:
        out.append(row_count_verdict(len(current), c["row_count"]))
    if c["freshness"] is not None:
        p = c["freshness"]
        now = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
        ts_col = p.get("timestamp_column")
        newest, basis = None, None
        if ts_col and ts_col in current.columns:
            ts = pd.to_datetime(current[ts_col], utc=True, errors="coerce").max()
            newest, basis = (None if pd.isna(ts) else ts.to_pydatetime()), f"latest {ts_col}"
        elif newest_arrival is not None:
            newest, basis = newest_arrival, arrival_basis
        if newest is not None:
            out.append(freshness_verdict(newest, basis, p, now))
        else:
            out.append(freshness_none(ts_col, bool(ts_col and ts_col in current.columns), p))
    return out
