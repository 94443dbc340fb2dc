"""Size caps on what a source may make a reader hold in memory (issue 17, item 1).

A 1 MB ``.csv.gz`` can hold a 1 GiB cell: the parsers (pandas' C tokenizer, ``json.loads``) keep a
whole record in memory, so without a cap one file drives a worker to several GB and a
``MemoryError``. The caps are checked on the decompressed byte stream *before* the parser sees a
record, so memory stays bounded by the cap whatever the file holds:

``CUSTOS_DATASET_MAX_LINE_BYTES`` (default 16 MiB)
    the longest CSV record (quoted newlines included) or JSON line; every cell lies inside its
    record, so this also caps a text file's cells. A database table's value (SQLite, PostgreSQL)
    over it is refused too: the select sends NULL in its place and names its column, so the value
    never leaves the database.
``CUSTOS_DATASET_MAX_ROWS`` (default 1,000,000,000)
    rows a source may hold (text files counted while read, Parquet and tables from their count).
``CUSTOS_DATASET_MAX_GROUP_BYTES`` (default 1 GiB)
    the uncompressed size of the columns read from one Parquet row group (from the file's
    metadata, before decompressing anything).

A refused source raises :class:`DataLimitExceeded` (a ``SourceError``): one line naming the file,
the line number, the limit and the setting, never the content.
"""

from __future__ import annotations

import io

import numpy as np
from django.conf import settings

from compliance.datasets.errors import SourceError

MiB = 1 << 20
DEFAULT_MAX_LINE_BYTES = 16 * MiB
DEFAULT_MAX_ROWS = 1_000_000_000
DEFAULT_MAX_GROUP_BYTES = 1 << 30
_READ_SIZE = 1 * MiB


class DataLimitExceeded(SourceError):
    """The source is larger than a configured cap allows (the message names the setting)."""


def max_line_bytes() -> int:
    return int(getattr(settings, "CUSTOS_DATASET_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES))


def max_rows() -> int:
    return int(getattr(settings, "CUSTOS_DATASET_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_group_bytes() -> int:
    return int(getattr(settings, "CUSTOS_DATASET_MAX_GROUP_BYTES", DEFAULT_MAX_GROUP_BYTES))


def size_text(n: int) -> str:
    """``16 MiB`` / ``1 GiB`` / ``1000 bytes``: how a limit is named in an error."""
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def check_rows(name: str, rows: int | None) -> None:
    limit = max_rows()
    if rows is not None and rows > limit:
        raise DataLimitExceeded(f"{name}: more than {limit:,} rows (CUSTOS_DATASET_MAX_ROWS)")


class _LineBoundedRaw(io.RawIOBase):
    """A binary stream that refuses a record longer than ``limit`` bytes before passing it on.

    With ``quote`` (CSV), a newline inside a quoted field does not end the record: quotes are
    counted (RFC 4180 doubled quotes count twice, so parity is what matters), vectorised with
    numpy so a scan's throughput does not change. Reads are at most ``limit`` bytes, so a record
    wholly inside one read is never over the limit: only the first and the last record of a read
    need checking.
    """

    def __init__(self, raw, *, name: str, limit: int, quote: bytes | None) -> None:
        super().__init__()
        self.raw, self.name, self.limit = raw, name, limit
        self.quote = quote[0] if quote else None
        self.current = 0  # bytes of the record being read so far
        self.lines = 1  # physical line number the current record starts on (1-based)
        self.newlines = 0  # newlines passed so far
        self.in_quote = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self.limit, _READ_SIZE)
        try:
            data = self.raw.read(want)
        except EOFError:
            raise SourceError(f"{self.name}: the compressed file is truncated") from None
        except OSError as exc:  # gzip.BadGzipFile, bz2/zlib errors
            raise SourceError(f"{self.name}: cannot decompress the file ({type(exc).__name__})") from None
        except Exception as exc:
            if type(exc).__name__ == "error":  # zlib.error
                raise SourceError(f"{self.name}: cannot decompress the file (corrupt data)") from None
            raise
        if not data:
            return 0
        self._check(data)
        n = len(data)
        buffer[:n] = data
        return n

    def _boundaries(self, data: bytes) -> np.ndarray | None:
        """Offsets of the newlines in ``data`` that end a record (None: no quote to account for)."""
        if self.quote is None or (not self.in_quote and self.quote not in data):
            return None
        arr = np.frombuffer(data, dtype=np.uint8)
        # uint8 wraps at 256, an even number: the parity of the running count is exact.
        parity = np.cumsum(arr == self.quote, dtype=np.uint8) & 1
        if self.in_quote:
            parity ^= 1
        newlines = np.flatnonzero(arr == 10)
        self.in_quote = bool(parity[-1])
        return newlines[parity[newlines] == 0]

    def _check(self, data: bytes) -> None:
        bounds = self._boundaries(data)
        if bounds is None:
            first, last = data.find(b"\n"), data.rfind(b"\n")
            ends = first >= 0
        else:
            ends = len(bounds) > 0
            first, last = (int(bounds[0]), int(bounds[-1])) if ends else (-1, -1)
        head = (first + 1) if ends else len(data)
        if self.current + head > self.limit + (1 if ends else 0):
            self._refuse()
        if ends:
            # the record that ended at ``last`` is done: the next one starts on the line after it
            self.lines = self.newlines + data.count(b"\n", 0, last + 1) + 1
            self.current = len(data) - last - 1
            if self.current > self.limit:
                self._refuse()
        else:
            self.current += len(data)
        self.newlines += data.count(b"\n")

    def _refuse(self) -> None:
        raise DataLimitExceeded(
            f"{self.name}: line {self.lines} is longer than {size_text(self.limit)} "
            "(CUSTOS_DATASET_MAX_LINE_BYTES): refused before reading it"
        )

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def bounded_binary(raw, *, name: str, quote: bytes | None = b'"', limit: int | None = None) -> io.BufferedReader:
    """``raw`` (an open binary file, decompressed) as a buffered stream that raises
    :class:`DataLimitExceeded` at the first record over ``limit`` (default: the setting) and a
    ``SourceError`` when the compressed data is truncated or corrupt."""
    return io.BufferedReader(_LineBoundedRaw(raw, name=name, limit=limit or max_line_bytes(), quote=quote), _READ_SIZE)


__all__ = [
    "DataLimitExceeded",
    "bounded_binary",
    "check_rows",
    "max_group_bytes",
    "max_line_bytes",
    "max_rows",
    "size_text",
]
