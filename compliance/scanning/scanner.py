"""Public Python API of the PII scanner.

    from compliance.scanning.scanner import scan_dataframe, scan_path

    result = scan_dataframe(df, sample_size=1000, seed=0)
    for column in result.columns:
        for entity in column.entities:            # only the types decided present
            entity.type, entity.confidence, entity.share, entity.recognizers, entity.name_hint_used

``scan_path`` takes a CSV / Parquet / JSON-lines path, a ``sqlite:///file.db#table`` or
``source:<name>#schema.table`` location, resolved by ``compliance.datasets`` (inside a data root or a
registered data source, never Custos's own database: ``LocationRefused`` otherwise). Memory is bounded by the batch size and
``sample_size`` per column, not by the size of the source. Findings never hold cell values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from compliance.datasets.locations import Location, resolve
from compliance.datasets.sources import DataFrameSource, Source, SourceError, open_source
from compliance.scanning.analysis import DEFAULT_SAMPLE, scan_chunk
from compliance.scanning.decision import decide_column, decide_table, merge_chunks, special_from_name

__all__ = [
    "DEFAULT_SAMPLE",
    "ColumnFindings",
    "EntityFinding",
    "ScanResult",
    "SourceError",
    "result_from_chunks",
    "scan_dataframe",
    "scan_path",
    "scan_source",
]


@dataclass(frozen=True)
class EntityFinding:
    type: str
    confidence: float
    share: float
    recognizers: tuple[str, ...] = ()
    name_hint_used: bool = False
    # which signals fired: {"cells": sampled cells, "signals": {recognizer: cells}, ...}; GDPR Art. 9
    # suggestions also carry {"article": ..., "category": ..., "from": "name" | "values"}
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ColumnFindings:
    name: str
    entities: tuple[EntityFinding, ...]
    dtype: str = ""
    mode: str = ""  # structured | text | date | skip
    nonnull: int = 0
    sampled: int = 0

    @property
    def entity_types(self) -> set[str]:
        return {e.type for e in self.entities}


@dataclass
class ScanResult:
    source: str
    rows_total: int | None
    rows_sampled: int
    seconds: float
    columns: list[ColumnFindings] = field(default_factory=list)
    sample_size: int = DEFAULT_SAMPLE
    seed: int = 0

    def column(self, name: str) -> ColumnFindings:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def as_json(self) -> dict[str, Any]:
        """The command's ``--json`` document (a documented contract: see docs/scanning.md)."""
        return {
            "source": self.source,
            "rows_total": self.rows_total,
            "rows_sampled": self.rows_sampled,
            "seconds": round(self.seconds, 3),
            "columns": [
                {
                    "name": c.name,
                    "entities": [{"type": e.type, "confidence": e.confidence, "share": e.share} for e in c.entities],
                }
                for c in self.columns
            ],
        }

    def as_findings(self) -> list[dict[str, Any]]:
        """Detailed findings (recognizers, name hint, profile) for storage on a ScanRun."""
        return [
            {
                "name": c.name,
                "dtype": c.dtype,
                "mode": c.mode,
                "nonnull": c.nonnull,
                "sampled": c.sampled,
                "entities": [dict(asdict(e), recognizers=list(e.recognizers)) for e in c.entities],
            }
            for c in self.columns
        ]


def result_from_chunks(
    chunks: Iterable[dict[str, Any]],
    *,
    source: str,
    rows_total: int | None,
    sample_size: int,
    seed: int,
    seconds: float,
    column_hints: bool = True,
) -> ScanResult:
    """Merge chunk results (from :func:`analysis.scan_chunk`, local or from workers) and decide."""
    merged = merge_chunks(list(chunks), k=sample_size)
    columns = []
    sampled_rows: set[int] = set()
    decided = {name: decide_column(name, column, column_hints=column_hints) for name, column in merged["columns"].items()}
    decide_table(merged["columns"], decided, column_hints=column_hints)
    if column_hints:
        for name, column in merged["columns"].items():
            decided[name] = decided[name] + special_from_name(name, column, decided[name])
    for name, column in merged["columns"].items():
        sampled_rows.update(s[0] for s in column["samples"])
        entities = tuple(
            EntityFinding(
                f["type"], f["confidence"], f["share"], tuple(f["recognizers"]), f["name_hint_used"], f.get("evidence", {})
            )
            for f in decided[name]
        )
        columns.append(
            ColumnFindings(
                name=name,
                entities=entities,
                dtype=column["dtype"],
                mode=column["mode"],
                nonnull=column["nonnull"],
                sampled=len(column["samples"]),
            )
        )
    return ScanResult(
        source=source,
        rows_total=rows_total if rows_total is not None else merged["rows"],
        rows_sampled=len(sampled_rows),
        seconds=seconds,
        columns=columns,
        sample_size=sample_size,
        seed=seed,
    )


def scan_source(
    source: Source,
    *,
    sample_size: int = DEFAULT_SAMPLE,
    seed: int = 0,
    column_hints: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> ScanResult:
    """Scan a whole source in this process (one pass, bounded memory)."""
    if sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    started = time.perf_counter()
    done = 0
    total = source.rows_total

    def on_batch(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress(done, total)

    chunk = scan_chunk(source, None, k=sample_size, seed=seed, column_hints=column_hints, on_batch=on_batch)
    return result_from_chunks(
        [chunk],
        source=source.location,
        rows_total=chunk["rows"],
        sample_size=sample_size,
        seed=seed,
        seconds=time.perf_counter() - started,
        column_hints=column_hints,
    )


def scan_dataframe(
    df: pd.DataFrame, *, sample_size: int = DEFAULT_SAMPLE, seed: int = 0, column_hints: bool = True
) -> ScanResult:
    """Scan a DataFrame. ``column_hints=False`` ignores column names (content only)."""
    return scan_source(DataFrameSource(df), sample_size=sample_size, seed=seed, column_hints=column_hints)


def scan_path(
    path: str | Path | Location,
    *,
    sample_size: int = DEFAULT_SAMPLE,
    seed: int = 0,
    column_hints: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> ScanResult:
    """Scan a file (CSV, Parquet, JSON lines) or a table, at a location the datasets rule accepts."""
    return scan_source(
        open_source(resolve(str(path)) if not isinstance(path, Location) else path),
        sample_size=sample_size,
        seed=seed,
        column_hints=column_hints,
        progress=progress,
    )
