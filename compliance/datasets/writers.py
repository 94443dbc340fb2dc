"""Writing data: whole frames, streamed outputs, and row deletes in tables.

Every target goes through :func:`compliance.datasets.locations.resolve_output` and is re-checked
right before it is opened and again before the final rename/commit, so nothing Custos writes can
land in its own database, its key files, or outside the data roots. Files are written to
``<name>.partial`` and renamed over the target on commit (an aborted write leaves the target as it
was); a SQLite table is written to ``<table>__partial`` and renamed in one transaction.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from compliance.datasets.locations import Location, LocationRefused, check, resolve_output

PLAIN_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class WriteError(ValueError):
    """The output cannot be written (format mismatch, bad table name, I/O). Never quotes values."""


def _target(loc_or_path: Location | str | Path, fmt: str | None) -> Location:
    loc = resolve_output(loc_or_path)
    if fmt and not loc.is_table and fmt != loc.format:
        raise WriteError(f"the output's file type is {loc.format}, not {fmt}")
    if loc.kind == "postgresql":
        raise LocationRefused("outputs are files or SQLite tables inside the data roots, not PostgreSQL tables")
    if loc.kind == "sqlite" and not PLAIN_TABLE.match(loc.table or ""):
        raise WriteError("a table output is sqlite:///file.db#table (letters, digits, underscores)")
    return loc


class FrameWriter:
    """A streamed output: ``write(frame)`` any number of times, then ``commit()`` or ``abort()``.

    ``like`` (a Location or a pyarrow schema) gives a Parquet output the source's column types for
    the columns listed in ``keep_types`` (untransformed columns); other columns are strings.
    """

    def __init__(self, target: Location | str | Path, *, fmt: str | None = None, like: Any = None) -> None:
        self.loc = _target(target, fmt)
        self.like_schema = _schema_of(like)
        self._handle = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._conn: sqlite3.Connection | None = None
        self._first = True
        self.rows = 0
        self.tmp = None if self.loc.is_table else Path(self.loc.path).with_name(Path(self.loc.path).name + ".partial")

    def write(self, frame: pd.DataFrame, *, keep_types: set[str] | frozenset[str] = frozenset()) -> None:
        if self.loc.is_table:
            if self._conn is None:
                check(self.loc)
                self._conn = sqlite3.connect(str(self.loc.path))
            frame.to_sql(f"{self.loc.table}__partial", self._conn, if_exists="replace" if self._first else "append", index=False)
        elif self.loc.format == "csv":
            if self._handle is None:
                check(self.loc)
                self._handle = self._open_text(newline="")
                frame.to_csv(self._handle, index=False)
            else:
                frame.to_csv(self._handle, index=False, header=False)
        elif self.loc.format == "jsonl":
            if self._handle is None:
                check(self.loc)
                self._handle = self._open_text()
            text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
            self._handle.write(text if text.endswith("\n") or not text else text + "\n")
        else:
            if self._schema is None:
                check(self.loc)
                fields = []
                for name in frame.columns:
                    if name in keep_types and self.like_schema is not None and name in self.like_schema.names:
                        fields.append(self.like_schema.field(name))
                    else:
                        fields.append(
                            pa.field(name, pa.string())
                            if frame[name].dtype == object
                            else pa.Schema.from_pandas(frame[[name]], preserve_index=False).field(name)
                        )
                self._schema = pa.schema(fields)
                self._parquet = pq.ParquetWriter(self.tmp, self._schema)
            self._parquet.write_table(pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False))
        self._first = False
        self.rows += len(frame)

    def commit(self) -> Location:
        """Make the output visible (rename over the target); the rule is checked once more first."""
        check(self.loc)
        if self.loc.is_table:
            conn = self._conn or sqlite3.connect(str(self.loc.path))
            quoted = f'"{self.loc.table}"'
            if self._first:  # nothing written: an empty output is still an output
                conn.execute(f'CREATE TABLE IF NOT EXISTS "{self.loc.table}__partial" (_empty INTEGER)')
            conn.execute(f"DROP TABLE IF EXISTS {quoted}")
            conn.execute(f'ALTER TABLE "{self.loc.table}__partial" RENAME TO {quoted}')
            conn.commit()
            conn.close()
            self._conn = None
            return self.loc
        if self._first and self.loc.format != "parquet":
            self._handle = self._open_text()  # an empty output (a valid empty .gz / .bz2 too)
        self._close_files()
        if self._first and self.loc.format == "parquet":
            pq.write_table(pa.table({}), self.tmp)
        Path(self.tmp).replace(self.loc.path)
        return self.loc

    def abort(self) -> None:
        """Drop what was written; the target is untouched."""
        if self.loc.is_table:
            if self._conn is not None:
                self._conn.execute(f'DROP TABLE IF EXISTS "{self.loc.table}__partial"')
                self._conn.commit()
                self._conn.close()
                self._conn = None
            return
        self._close_files()
        if self.tmp is not None:
            Path(self.tmp).unlink(missing_ok=True)

    def _open_text(self, newline: str | None = None):
        """The ``.partial`` file for text, compressed when the target's name says so (``.csv.gz``,
        ``.jsonl.bz2``): the readers open it by the same suffixes, so an output reads back as written."""
        suffixes = [s.lower() for s in Path(self.loc.path).suffixes]
        if ".gz" in suffixes:
            import gzip

            return gzip.open(self.tmp, "wt", newline=newline, encoding="utf-8", compresslevel=6)
        if ".bz2" in suffixes:
            import bz2

            return bz2.open(self.tmp, "wt", newline=newline, encoding="utf-8")
        return open(self.tmp, "w", newline=newline, encoding="utf-8")  # noqa: SIM115 - closed in commit/abort

    def _close_files(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _schema_of(like: Any) -> pa.Schema | None:
    if like is None or isinstance(like, pa.Schema):
        return like
    loc = check(like) if isinstance(like, Location) else None
    if loc is not None and loc.format == "parquet":
        return pq.read_schema(loc.path)
    return None


def open_writer(target: Location | str | Path, *, fmt: str | None = None, like: Any = None) -> FrameWriter:
    return FrameWriter(target, fmt=fmt, like=like)


def write_frame(frame: pd.DataFrame, loc_or_path: Location | str | Path, *, fmt: str | None = None, like: Any = None) -> Location:
    """Write ``frame`` to a file (format from its suffix, or ``fmt`` which must agree) or a SQLite table."""
    writer = FrameWriter(loc_or_path, fmt=fmt, like=like)
    try:
        writer.write(frame, keep_types=frozenset(frame.columns) if like is not None else frozenset())
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


class TableHandle:
    """A writable connection to a table (SQLite or a registered PostgreSQL source) for row deletes,
    as retention needs: rows are addressed by ``rowid`` / ``ctid`` read and deleted in one session.
    ``close(commit=...)`` ends it; the rule is re-checked on open and before a commit."""

    def __init__(self, loc: Location | str) -> None:
        self.loc = check(loc) if isinstance(loc, Location) else resolve_output(loc)
        if not self.loc.is_table:
            raise WriteError("row deletes need a table location")
        self.quoted = ".".join(f'"{part}"' for part in self.loc.table.split("."))
        self.sqlite = self.loc.kind == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(str(self.loc.path))
            self.key, self.mark = "rowid", "?"
        else:
            import psycopg

            self.conn = psycopg.connect(self.loc.url, connect_timeout=10)
            self.key, self.mark = "ctid::text", "%s"

    def keyed_column(self, column: str) -> pd.DataFrame:
        """``key`` (row address) and ``value`` of ``column`` for every row."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
            raise WriteError("not a plain column name")
        cur = self.conn.cursor()
        cur.execute(f'SELECT {self.key}, "{column}" FROM {self.quoted}')  # noqa: S608 - identifiers validated
        return pd.DataFrame(cur.fetchall(), columns=["key", "value"])

    def delete(self, keys: list[Any]) -> int:
        cur = self.conn.cursor()
        column = "rowid" if self.sqlite else "ctid"
        cast = "" if self.sqlite else "::tid"
        deleted = 0
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ", ".join(f"{self.mark}{cast}" for _ in batch)
            cur.execute(f"DELETE FROM {self.quoted} WHERE {column} IN ({marks})", batch)  # noqa: S608 - placeholders only
            deleted += cur.rowcount
        return deleted

    def close(self, *, commit: bool) -> None:
        try:
            if commit:
                check(self.loc)
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()


__all__ = ["FrameWriter", "TableHandle", "WriteError", "open_writer", "write_frame"]
