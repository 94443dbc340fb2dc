"""Reading monitoring data through compliance.datasets (the only way Custos reaches data).

The datasets readers give text formats (CSV) as strings, as the scanners want them; drift needs the
types, so a text column whose every non-null value parses as a number becomes numeric again, the way
pandas' read_csv types it (int64 when every value is an integer and none is missing, float64 otherwise).
Parquet, JSONL and tables keep the types they carry.
"""

from __future__ import annotations

import contextlib

import pandas as pd

from compliance import datasets

TEXT_FORMATS = frozenset({"csv"})


def retype_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            with contextlib.suppress(ValueError, TypeError):  # not numbers: stays text
                col = pd.to_numeric(col)
        out[name] = col
    return pd.DataFrame(out, index=frame.index)


def read_typed_frame(location, *, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows at `location` (a location string, Location or asset), typed for drift."""
    loc = datasets.as_location(location)
    frame = datasets.read_frame(loc, columns=columns)
    return retype_text_columns(frame) if loc.format in TEXT_FORMATS else frame
