"""Sources: DataFrames, CSV, Parquet, JSON lines and database tables, read in batches.

A source is opened from a resolved :class:`~compliance.datasets.locations.Location` (never from a
string: :func:`open_source` re-checks the location rule first) and split into *chunks* (Parquet row
groups, row ranges of a CSV/JSON-lines file or a table), so workers can share a scan. Reading a chunk
yields ``(offset, DataFrame)`` batches of at most ``BATCH_ROWS`` rows, optionally projected on
``columns``, so memory stays bounded whatever the size of the source.

Most callers want :mod:`compliance.datasets.readers` (frames, samples, schemas) instead.
"""

from __future__ import annotations

import csv
import math
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from compliance.datasets import limits
from compliance.datasets.errors import SourceError
from compliance.datasets.locations import Location, check

BATCH_ROWS = 100_000
CHUNK_ROWS = 250_000  # target rows per chunk when a source is split for workers
NA_VALUES = ["", "NA", "N/A", "NULL", "null", "None", "none", "NaN", "nan", "-"]


def _project(df: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """``df`` restricted to ``columns`` (in that order); a name the source lacks is an error."""
    if columns is None:
        return df
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SourceError(f"the source has no column(s) {', '.join(missing)}")
    return df[list(columns)]


@dataclass(frozen=True)
class ChunkSpec:
    """A slice of a source: row groups ``[start, stop)`` of a Parquet file, or rows ``[start, stop)``."""

    index: int
    start: int
    stop: int
    rows: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "stop": self.stop, "rows": self.rows}


class Source:
    location: str = ""
    kind: str = ""

    @property
    def rows_total(self) -> int | None:
        return None

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        return [ChunkSpec(0, 0, -1, self.rows_total)]

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        """``(offset, frame)`` batches of ``chunk`` (all rows when None), projected on ``columns``."""
        raise NotImplementedError


def _row_chunks(total: int | None, target_rows: int) -> list[ChunkSpec]:
    if not total or total <= target_rows:
        return [ChunkSpec(0, 0, -1, total)]
    n = math.ceil(total / target_rows)
    size = math.ceil(total / n)
    return [ChunkSpec(i, i * size, min(total, (i + 1) * size), min(total, (i + 1) * size) - i * size) for i in range(n)]


class DataFrameSource(Source):
    kind = "dataframe"

    def __init__(self, df: pd.DataFrame, location: str = "<dataframe>") -> None:
        self.df = df
        self.location = location

    @property
    def rows_total(self) -> int:
        return len(self.df)

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        return _row_chunks(len(self.df), target_rows)

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        start, stop = (chunk.start, chunk.stop) if chunk else (0, -1)
        stop = len(self.df) if stop < 0 else stop
        df = _project(self.df, columns)
        for offset in range(start, stop, BATCH_ROWS):
            yield offset, df.iloc[offset : min(stop, offset + BATCH_ROWS)]


class ParquetSource(Source):
    kind = "parquet"

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.location = str(path)
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise SourceError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
        meta = self.file.metadata
        self.group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]

    @property
    def rows_total(self) -> int:
        return self.file.metadata.num_rows

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        specs, start, rows = [], 0, 0
        for i, n in enumerate(self.group_rows):
            rows += n
            if rows >= target_rows:
                specs.append(ChunkSpec(len(specs), start, i + 1, rows))
                start, rows = i + 1, 0
        if start < len(self.group_rows) or not specs:
            specs.append(ChunkSpec(len(specs), start, len(self.group_rows), rows))
        return specs

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        start, stop = (chunk.start, chunk.stop) if chunk else (0, len(self.group_rows))
        stop = len(self.group_rows) if stop < 0 else stop
        offset = sum(self.group_rows[:start])
        if columns is not None:
            _project(pd.DataFrame(columns=self.file.schema_arrow.names), columns)
        limits.check_rows(Path(self.location).name, self.rows_total)
        for group in range(start, stop):
            self._check_group(group, columns)
            table = self.file.read_row_group(group, columns=list(columns) if columns is not None else None)
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                df = batch.to_pandas()
                yield offset, df
                offset += len(df)
            del table

    def _check_group(self, group: int, columns: list[str] | None) -> None:
        """Refuse a row group whose read columns decompress beyond the cap (metadata only, nothing read)."""
        meta = self.file.metadata.row_group(group)
        wanted = set(columns) if columns is not None else None
        size = 0
        for j in range(meta.num_columns):
            column = meta.column(j)
            if wanted is None or column.path_in_schema.split(".", 1)[0] in wanted:
                size += column.total_uncompressed_size
        limit = limits.max_group_bytes()
        if size > limit:
            raise limits.DataLimitExceeded(
                f"{Path(self.location).name}: row group {group} holds more than {limits.size_text(limit)} "
                "uncompressed (CUSTOS_DATASET_MAX_GROUP_BYTES): refused before reading it"
            )


def _sniff_csv(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a text file, from its first 64 KiB."""
    from charset_normalizer import from_bytes

    with _open_bounded(path, quote=b'"') as fh:
        head = fh.read(65536)
    if not head.strip():
        raise SourceError(f"{path.name}: the file is empty")
    if head.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the 64 KiB boundary is still UTF-8
            if exc.start >= len(head) - 4:
                encoding = "utf-8"
            else:
                best = from_bytes(head).best()
                encoding = best.encoding if best else "latin-1"
    text = head.decode(encoding, errors="replace")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return encoding, delimiter


def _opener(path: Path):
    suffixes = [s.lower() for s in path.suffixes]
    if ".gz" in suffixes:
        import gzip

        return gzip.open
    if ".bz2" in suffixes:
        import bz2

        return bz2.open
    return open


def _open_bounded(path: Path, *, quote: bytes | None):
    """The file, decompressed, as a binary stream that enforces the line cap (compliance.datasets.limits)
    and turns a truncated or corrupt compressed file into a ``SourceError``."""
    try:
        raw = _opener(path)(path, "rb")
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot open the file ({type(exc).__name__})") from None
    return limits.bounded_binary(raw, name=path.name, quote=quote)


class CsvSource(Source):
    kind = "csv"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.encoding, self.delimiter = _sniff_csv(path)
        self._rows: int | None = None

    @property
    def rows_total(self) -> int | None:
        return self._rows

    def count_rows(self) -> int:
        """Data rows (a fast pass over the bytes; quoted newlines make it an upper bound)."""
        if self._rows is None:
            cap = limits.max_rows() + 1  # + the header line
            lines = 0
            with _open_bounded(self.path, quote=b'"') as fh:  # the line cap fails a huge cell here, fast
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    lines += chunk.count(b"\n")
                    if lines > cap:
                        limits.check_rows(self.path.name, lines - 1)
            self._rows = max(0, lines - 1)
        return self._rows

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        return _row_chunks(self.count_rows(), target_rows)

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        start, stop = (chunk.start, chunk.stop) if chunk else (0, -1)
        cap = limits.max_rows()
        # The stream refuses a record over the line cap before the tokenizer holds it.
        handle = _open_bounded(self.path, quote=b'"')
        try:
            # A chunk after the first parses and drops the rows before it, batch by batch: memory stays
            # bounded (pandas' skiprows would build a set of every skipped row number).
            reader = pd.read_csv(
                handle,
                sep=self.delimiter,
                encoding=self.encoding,
                dtype=str,
                na_values=NA_VALUES,
                keep_default_na=False,
                chunksize=BATCH_ROWS,
                on_bad_lines="error",
                engine="c",
                nrows=stop if stop >= 0 else None,
                usecols=list(columns) if columns is not None else None,
            )
            offset = 0
            for df in reader:
                end = offset + len(df)
                if end > cap:
                    limits.check_rows(self.path.name, end)
                if end > start:
                    part = df.iloc[max(0, start - offset) :] if offset < start else df
                    yield max(offset, start), _project(part, columns)
                offset = end
        except SourceError:
            raise
        except pd.errors.ParserError as exc:
            raise SourceError(f"{self.path.name}: malformed CSV ({_parser_reason(exc)})") from None
        except UnicodeDecodeError:
            raise SourceError(f"{self.path.name}: cannot decode the file as {self.encoding}") from None
        except pd.errors.EmptyDataError:
            raise SourceError(f"{self.path.name}: the file has no columns") from None
        except ValueError as exc:
            if columns is not None and "Usecols" in str(exc):
                raise SourceError(f"{self.path.name}: the file lacks some of the requested columns") from None
            raise
        except MemoryError:
            raise SourceError(f"{self.path.name}: the file does not fit in memory in batches of {BATCH_ROWS} rows") from None
        finally:
            handle.close()


def _parser_reason(exc: Exception) -> str:
    """The parser's complaint without any cell content: line and field counts only."""
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if match:
        return f"line {match.group(2)} has {match.group(3)} fields, expected {match.group(1)}"
    return "unparseable content"


class JsonLinesSource(Source):
    kind = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._rows: int | None = None

    @property
    def rows_total(self) -> int | None:
        return self._rows

    def _lines(self, start: int = 0, stop: int = -1) -> Iterator[tuple[int, bytes]]:
        """``(line number, line)`` of the non-blank lines with index in ``[start, stop)``, each at most
        the line cap long (checked before the line is held whole)."""
        limit = limits.max_line_bytes()
        cap = limits.max_rows()
        index = -1
        with _open_bounded(self.path, quote=None) as fh:
            lineno = 0
            while True:
                line = fh.readline(limit + 2)  # + the newline (CRLF)
                if not line:
                    return
                lineno += 1
                if len(line) > limit and len(line.rstrip(b"\r\n")) > limit:
                    raise limits.DataLimitExceeded(
                        f"{self.path.name}: line {lineno} is longer than {limits.size_text(limit)} "
                        "(CUSTOS_DATASET_MAX_LINE_BYTES): refused before reading it"
                    )
                if not line.strip():
                    continue
                index += 1
                if index >= cap:
                    limits.check_rows(self.path.name, index + 1)
                if index < start:
                    continue
                if 0 <= stop <= index:
                    return
                yield lineno, line

    def count_rows(self) -> int:
        if self._rows is None:
            self._rows = sum(1 for _ in self._lines())
        return self._rows

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        return _row_chunks(self.count_rows(), target_rows)

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        import json

        start, stop = (chunk.start, chunk.stop) if chunk else (0, -1)
        rows: list[dict] = []
        offset = start
        for lineno, raw in self._lines(start, stop):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise SourceError(f"{self.path.name}: line {lineno} is not UTF-8") from None
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                raise SourceError(f"{self.path.name}: line {lineno} is not valid JSON") from None
            except RecursionError:
                raise SourceError(f"{self.path.name}: line {lineno} nests too deep to decode") from None
            if not isinstance(obj, dict):
                raise SourceError(f"{self.path.name}: line {lineno} is not a JSON object")
            try:
                row = {k: (v if v is None or isinstance(v, str | int | float | bool) else json.dumps(v)) for k, v in obj.items()}
            except RecursionError:
                raise SourceError(f"{self.path.name}: line {lineno} nests too deep to decode") from None
            rows.append(row)
            if len(rows) >= BATCH_ROWS:
                yield offset, self._frame(rows, columns)
                offset += len(rows)
                rows = []
        if rows:
            yield offset, self._frame(rows, columns)

    @staticmethod
    def _frame(rows: list[dict], columns: list[str] | None) -> pd.DataFrame:
        if columns is None:
            return pd.DataFrame.from_records(rows)
        # A JSON-lines record may omit a key: projected columns are kept (as missing) rather than refused.
        return pd.DataFrame.from_records(rows).reindex(columns=list(columns))


_OVER_CAP = "__custos_value_over_cap"
# PostgreSQL types whose octet_length needs no cast (text, varchar, bpchar, name, bytea); others are cast to text.
_PG_SIZED_TYPES = frozenset({25, 1043, 1042, 19, 17})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


class SqlSource(Source):
    """A table read with the DB-API (sqlite3, psycopg 3), ordered by rowid / ctid so ranges are stable."""

    kind = "sql"

    def __init__(self, loc: Location) -> None:
        table = loc.table or ""
        self.location = f"{loc.source or loc.kind}#{table}"  # never the connection string
        if not table or not _IDENT.match(table):
            raise SourceError("a database location is URL#table (e.g. sqlite:///data.db#patients)")
        if table.count(".") == 2:  # an OpenLineage name "database.schema.table": the URL names the database
            table = table.split(".", 1)[1]
        self.loc, self.table = loc, table
        self.dialect = "sqlite" if loc.kind == "sqlite" else "postgresql"
        self._rows = None
        self._columns: list[str] | None = None
        self._types: dict[str, Any] = {}
        self._cap = limits.max_line_bytes()
        with self._connect() as conn:
            cur = conn.cursor()
            try:
                cur.execute(f"SELECT COUNT(*) FROM {self._quoted()}")  # noqa: S608 - identifier validated above
            except Exception as exc:
                raise SourceError(f"table {table} cannot be read ({type(exc).__name__})") from None
            self._rows = int(cur.fetchone()[0])
            limits.check_rows(f"table {table}", self._rows)
            cur.execute(f"SELECT * FROM {self._quoted()} LIMIT 0")  # noqa: S608 - identifier validated above
            self._columns = [d[0] for d in cur.description]
            self._types = {d[0]: d[1] for d in cur.description}

    @property
    def columns(self) -> list[str]:
        return list(self._columns or [])

    def _quoted(self) -> str:
        return ".".join(f'"{part}"' for part in self.table.split("."))

    def _connect(self):
        check(self.loc)  # every connection re-applies the location rule
        if self.dialect == "sqlite":
            path = Path(self.loc.path)
            if not path.exists():
                raise SourceError(f"SQLite database {path.name} not found")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            return _Closing(conn)
        import psycopg

        try:
            return _Closing(psycopg.connect(self.loc.url, connect_timeout=10))
        except Exception as exc:
            raise SourceError(f"cannot connect to the database ({type(exc).__name__})") from None

    @property
    def rows_total(self) -> int | None:
        return self._rows

    def chunks(self, target_rows: int = CHUNK_ROWS) -> list[ChunkSpec]:
        return _row_chunks(self._rows, target_rows)

    def read(self, chunk: ChunkSpec | None = None, *, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        start, stop = (chunk.start, chunk.stop) if chunk else (0, -1)
        order = "rowid" if self.dialect == "sqlite" else "ctid"
        if columns is not None:
            # Names are checked against the table's own columns, then quoted: never SQL from the caller.
            _project(pd.DataFrame(columns=self.columns), columns)
        names = list(columns) if columns is not None else self.columns
        select = self._capped_select(names)
        if stop >= 0:
            limit = f" LIMIT {int(stop - start)} OFFSET {int(start)}"
        else:
            limit = f" LIMIT -1 OFFSET {int(start)}" if self.dialect == "sqlite" else f" OFFSET {int(start)}"
        sql = f"SELECT {select} FROM {self._quoted()} ORDER BY {order}{limit}"  # noqa: S608 - identifiers validated, ints
        with self._connect() as conn:
            cur = conn.cursor()
            cur.execute(sql)
            offset = start
            while True:
                rows = cur.fetchmany(BATCH_ROWS)
                if not rows:
                    break
                frame = pd.DataFrame.from_records(rows, columns=[*names, _OVER_CAP])
                over = frame.pop(_OVER_CAP).to_numpy()
                if over.any():
                    at = int(over.nonzero()[0][0])
                    raise limits.DataLimitExceeded(
                        f"table {self.table}: row {offset + at + 1}, column {names[int(over[at]) - 1]} holds a value "
                        f"longer than {limits.size_text(self._cap)} (CUSTOS_DATASET_MAX_LINE_BYTES): refused before reading it"
                    )
                yield offset, frame
                offset += len(rows)

    def _size(self, quoted: str, name: str) -> str:
        """SQL for the size in bytes of a column's value, computed by the database (the value is not sent)."""
        if self.dialect == "sqlite":
            return f"length(CAST({quoted} AS BLOB))"
        if self._types.get(name) in _PG_SIZED_TYPES:
            return f"octet_length({quoted})"
        return f"octet_length({quoted}::text)"

    def _capped_select(self, names: list[str]) -> str:
        """The select list: each column as itself, or NULL when its value is over the cap (so a huge
        value never leaves the database), and a last column naming the first such column (1-based)."""
        self._cap = cap = limits.max_line_bytes()
        parts, whens = [], []
        for i, name in enumerate(names, 1):
            quoted = '"' + name.replace('"', '""') + '"'
            size = self._size(quoted, name)
            parts.append(f"CASE WHEN {size} > {cap} THEN NULL ELSE {quoted} END AS {quoted}")
            whens.append(f"WHEN {size} > {cap} THEN {i}")
        over = f"CASE {' '.join(whens)} ELSE 0 END" if whens else "0"
        return ", ".join([*parts, f'{over} AS "{_OVER_CAP}"'])


class _Closing:
    def __init__(self, conn) -> None:
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


def open_source(location: Location | pd.DataFrame) -> Source:
    """A :class:`Source` for a DataFrame or a resolved :class:`Location` (the rule is re-checked here)."""
    if isinstance(location, pd.DataFrame):
        return DataFrameSource(location)
    loc = check(location)
    if loc.is_table:
        return SqlSource(loc)
    path = Path(loc.path)
    if not path.exists():
        raise SourceError(f"{path.name}: no such file")
    if path.is_dir():
        raise SourceError(f"{path.name}: is a directory, not a file")
    if loc.format == "parquet":
        return ParquetSource(path)
    if loc.format == "jsonl":
        if path.suffix.lower() == ".json":
            with open(path, "rb") as fh:
                first = fh.read(1).lstrip()
            if first != b"{":
                raise SourceError(f"{path.name}: unsupported file type (a .json file must be JSON lines)")
        return JsonLinesSource(path)
    return CsvSource(path)


__all__ = ["BATCH_ROWS", "CHUNK_ROWS", "ChunkSpec", "DataFrameSource", "Source", "SourceError", "open_source"]
