"""Column kinds, and how a column's kind is inferred when nobody declared it.

The kinds are Evidently's (`num`, `cat`, `text`, `datetime`); inference follows Evidently 0.7.23's
`infer_column_type`: floats are numerical; integers are categorical up to 10 distinct values and numerical
above; strings are text when more than half the non-null values are distinct, categorical otherwise;
booleans and pandas categoricals are categorical. Only `num` and `cat` columns get a drift test; text and
datetime columns are reported as skipped, with the reason.
"""

from __future__ import annotations

import enum

import pandas as pd

# Evidently: INTEGER_CARDINALITY_LIMIT
INTEGER_CARDINALITY_LIMIT = 10


class ColumnKind(enum.StrEnum):
    NUMERICAL = "num"
    CATEGORICAL = "cat"
    TEXT = "text"
    DATETIME = "datetime"
    UNKNOWN = "unknown"


DRIFT_KINDS = frozenset({ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL})


def infer_kind(series: pd.Series) -> ColumnKind:
    """The kind Evidently would give `series` (see the module docstring for the rule)."""
    name = series.dtype.name
    if name.startswith("float"):
        return ColumnKind.NUMERICAL
    if name.startswith(("int", "uint")):
        return ColumnKind.CATEGORICAL if series.nunique() <= INTEGER_CARDINALITY_LIMIT else ColumnKind.NUMERICAL
    if name in ("string", "str"):
        return ColumnKind.TEXT if series.nunique() > series.count() * 0.5 else ColumnKind.CATEGORICAL
    if name == "object":
        values = series.dropna()
        if values.empty:
            return ColumnKind.UNKNOWN
        if isinstance(values.iloc[0], str) and isinstance(values.iloc[-1], str):
            return ColumnKind.TEXT if series.nunique() > series.count() * 0.5 else ColumnKind.CATEGORICAL
        return ColumnKind.UNKNOWN
    if name in ("bool", "boolean", "category"):
        return ColumnKind.CATEGORICAL
    if name.startswith("datetime"):
        return ColumnKind.DATETIME
    return ColumnKind.UNKNOWN
