"""Expired rows of a file asset (CSV, Parquet, JSON lines), read and rewritten through compliance.datasets.

:func:`scan` reads the whole file, finds rows whose date column is older than the cutoff and,
unless nothing is to change, prepares the rewritten file (and the archive of the expired rows) in
datasets writers that are *not yet committed*: the caller commits them as the last step of the
transaction that records the audit event, or aborts them.

The location is resolved and re-checked by the datasets rule before every open. Kept rows are
written back exactly as read: a CSV is read with the delimiter and encoding the datasets layer
sniffs, with no value turned into a missing one (``NA``, ``None`` or ``-`` stay as they are), and
only files Custos can write back unchanged are rewritten -- comma-separated UTF-8 CSV and Parquet,
uncompressed. Other files (JSON lines, compressed or ``;``-separated CSV) are counted, and a real
run reports them as ``error`` without touching them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance import datasets
from compliance.policies import anonymizer, keys, operators
from compliance.policies.choices import RetentionAction


def expired_mask(values: pd.Series, cutoff: datetime) -> pd.Series:
    """True where the value parses as a date older than ``cutoff`` (unparseable dates never expire)."""
    parsed = pd.to_datetime(values.astype(object), errors="coerce", utc=True, format="mixed")
    return (parsed < pd.Timestamp(cutoff)).fillna(False).astype(bool)


def row_digest(values: Any) -> str:
    """Keyed hash over the affected rows' keys: proves which rows without naming them."""
    key = keys.keyring().ensure()
    mac = hashlib.sha256()
    for value in sorted(str(v) for v in values):
        mac.update(key.mac("hmac", value.encode("utf-8")))
    return f"{key.kid}:{mac.hexdigest()[:32]}"


@dataclass
class Prepared:
    counts: dict[str, int]
    ids: list[Any]
    writers: list[datasets.FrameWriter] = field(default_factory=list)

    def commit(self) -> None:
        for writer in self.writers:  # the archive first, then the file itself
            writer.commit()

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()


REWRITE_REFUSED = (
    "retention rewrites comma-separated UTF-8 CSV and Parquet files only (uncompressed); this file was counted, not changed"
)


def _read_exact(loc: datasets.Location) -> tuple[pd.DataFrame, bool]:
    """(every row as stored, whether the file can be written back unchanged)."""
    from compliance.datasets.sources import open_source

    datasets.check(loc)
    compressed = Path(loc.path).suffix.lower() in (".gz", ".bz2")
    if loc.format != "csv":
        return datasets.read_frame(loc), loc.format == "parquet"
    source = open_source(loc)
    try:
        frame = pd.read_csv(
            loc.path, sep=source.delimiter, encoding=source.encoding, dtype=str, keep_default_na=False, na_filter=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise datasets.ReadError(f"{Path(loc.path).name}: cannot read as CSV ({type(exc).__name__})") from None
    writable = source.delimiter == "," and source.encoding in ("utf-8", "utf-8-sig") and not compressed
    return frame, writable


def _writer(frame: pd.DataFrame, target, like: datasets.Location) -> datasets.FrameWriter:
    writer = datasets.open_writer(target, like=like if like.format == "parquet" else None)
    try:
        writer.write(frame, keep_types=frozenset(frame.columns))
    except (TypeError, ValueError):  # a rewritten column no longer fits the source's type: strings
        writer.abort()
        writer = datasets.open_writer(target)
        writer.write(frame.astype(object).where(frame.notna(), None).astype(str))
    return writer


def scan(
    loc: datasets.Location,
    config: dict[str, Any],
    cutoff: datetime,
    *,
    prepare: bool,
    archive_to: Path | None,
    profile: dict[str, Any] | None,
) -> Prepared:
    """Count expired rows; with ``prepare`` (and rows to change) stage the rewrite (see module doc)."""
    column = config["date_column"]
    whole, writable = _read_exact(loc)
    if column not in whole.columns:
        raise ValidationError({"date_column": "the data has no such column"})
    expired = expired_mask(whole[column], cutoff)
    unparsed = int(pd.to_datetime(whole[column].astype(object), errors="coerce", utc=True, format="mixed").isna().sum())
    prepared = Prepared(
        counts={"rows": int(len(whole)), "expired_rows": int(expired.sum()), "unparsed_dates": unparsed},
        ids=whole.loc[expired, whole.columns[0]].tolist(),
    )
    if not prepare or not expired.any():
        return prepared
    if not writable:
        raise ValidationError(REWRITE_REFUSED)
    action = config["action"]
    if action == RetentionAction.ANONYMIZE_ROWS:
        from compliance.policies.presidio_text import make_scrubber

        ctx = operators.Context(reference_year=timezone.now().year, scrubber=make_scrubber())
        try:
            plans = anonymizer.plan_columns(whole.head(2000), profile, scan=False)
            changed = anonymizer.transform_chunk(whole.loc[expired], plans, ctx)
        finally:
            ctx.close()
        result = whole.astype(object)
        for name in result.columns:
            result.loc[expired, name] = changed[name] if name in changed.columns else None
    else:
        result = whole.loc[~expired]
    try:
        if action == RetentionAction.ARCHIVE and archive_to is not None:
            archive_to.parent.mkdir(parents=True, exist_ok=True)
            prepared.writers.append(_writer(whole.loc[expired], archive_to, loc))
        prepared.writers.append(_writer(result, loc, loc))
    except BaseException:
        prepared.abort()
        raise
    return prepared
