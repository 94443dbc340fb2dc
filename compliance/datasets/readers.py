"""Reading an asset's rows: chunked streams, whole frames, seeded samples and schemas.

Every function takes a location string, a resolved :class:`Location` or a cataloged asset, and
resolves/re-checks it through :mod:`compliance.datasets.locations` before opening anything, so no
read can reach a place the rule refuses. Memory stays bounded by ``chunk_rows`` (plus ``n`` for a
sample). Errors are :class:`ReadError` (a ``SourceError``) or ``LocationRefused``; neither message
quotes a cell value or the location itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from compliance.datasets.locations import Location, resolve, resolve_asset
from compliance.datasets.sources import BATCH_ROWS, SourceError, open_source

ReadError = SourceError
DEFAULT_CHUNK_ROWS = BATCH_ROWS


@dataclass(frozen=True)
class ColumnSpec:
    """A column as the source declares it (``dtype`` is pandas' name after reading, e.g. ``object``)."""

    name: str
    dtype: str


def as_location(target: Any) -> Location:
    """A checked Location from a string, a Location or an asset (anything with ``location``/``source``)."""
    if isinstance(target, Location | str):
        return resolve(target)
    if hasattr(target, "qualified_name"):
        return resolve_asset(target)
    return resolve(str(target))


def read_chunks(
    loc: Location | str | Any,
    *,
    columns: list[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    limit: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunk_rows`` rows, in source order, projected on ``columns``, stopping after
    ``limit`` rows in total. The index of each frame is the row number in the source."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    source = open_source(as_location(loc))
    seen = 0
    for offset, frame in source.read(columns=columns):
        for start in range(0, len(frame), chunk_rows):
            part = frame.iloc[start : start + chunk_rows]
            if limit is not None:
                part = part.iloc[: max(0, limit - seen)]
            if part.empty:
                if limit is not None and seen >= limit:
                    return
                continue
            part = part.copy()
            part.index = pd.RangeIndex(offset + start, offset + start + len(part))
            seen += len(part)
            yield part
            if limit is not None and seen >= limit:
                return


def read_frame(loc: Location | str | Any, *, columns: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """The rows (the first ``limit``) as one frame; an empty source gives its columns and no rows."""
    frames = list(read_chunks(loc, columns=columns, limit=limit))
    if frames:
        return pd.concat(frames) if len(frames) > 1 else frames[0]
    return pd.DataFrame(columns=[c.name for c in read_schema(loc)] if columns is None else list(columns))


def read_sample(loc: Location | str | Any, *, n: int, seed: int = 0, columns: list[str] | None = None) -> pd.DataFrame:
    """A uniform random sample of ``n`` rows (all rows when fewer), the same for the same source,
    ``n`` and ``seed``; in source order. One streaming pass (a bottom-``n`` sample over random keys),
    so memory holds ``n`` rows plus one chunk."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    for frame in read_chunks(loc, columns=columns):
        frame_keys = rng.random(len(frame))
        merged = frame if kept is None else pd.concat([kept, frame])
        all_keys = np.concatenate([keys, frame_keys])
        if len(merged) > n:
            order = np.argpartition(all_keys, n - 1)[:n]
            merged, all_keys = merged.iloc[order], all_keys[order]
        kept, keys = merged, all_keys
    if kept is None:
        return read_frame(loc, columns=columns, limit=0)
    return kept.sort_index()


def read_schema(loc: Location | str | Any) -> list[ColumnSpec]:
    """The columns and their dtypes, from the file's metadata (Parquet) or its first rows."""
    location = as_location(loc)
    source = open_source(location)
    if location.format == "parquet":
        empty = source.file.schema_arrow.empty_table().to_pandas()
        return [ColumnSpec(str(c), str(empty[c].dtype)) for c in empty.columns]
    if location.is_table:
        head = next(source.read(), (0, pd.DataFrame(columns=source.columns)))[1]
        return [ColumnSpec(str(c), str(head[c].dtype)) for c in source.columns]
    head = next(source.read(), (0, pd.DataFrame()))[1]
    return [ColumnSpec(str(c), str(head[c].dtype)) for c in head.columns]


def row_count(loc: Location | str | Any) -> int | None:
    """Rows in the source when cheap to know (Parquet metadata, a table's COUNT, a pass over a text file)."""
    source = open_source(as_location(loc))
    counter = getattr(source, "count_rows", None)
    return counter() if counter else source.rows_total


__all__ = ["ColumnSpec", "ReadError", "as_location", "read_chunks", "read_frame", "read_sample", "read_schema", "row_count"]
