"""Full verification of a stored ledger (what ``manage.py audit_verify`` runs).

Works on a plain DB-API connection (Django's, or a raw sqlite3/psycopg one opened on a copy of
the database), reads the tables with plain SQL and unqualified names, and checks, in one pass:

1. sequence numbers run 0, 1, 2, ... with no gap;
2. every body hashes to its stored leaf hash;
3. every stored subtree hash equals the one recomputed from the leaves (none missing, none extra);
4. every stored checkpoint is signed by a trusted key, names our origin, matches its row and the
   root recomputed at its size (so consecutive checkpoints are consistent with each other);
5. with an outside checkpoint: it is signed by a trusted key and the log extends it;
6. every ledger body equals the body of the event it came from, and every event is either in the
   log or still pending.

The first problem found is reported with the first sequence number it implicates.
"""

from __future__ import annotations

import functools
import gc
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from audit import fast_merkle
from audit import verify_core as vc
from audit.constants import STORED_MIN_LEVEL

CHUNK_BITS = 16  # leaves are verified in aligned chunks of 65,536: bounded memory, fast list hashing


@dataclass
class Problem:
    """One thing wrong. ``specific``: it pins the entry (or range) at fault; a checkpoint that does
    not match only bounds where the fault is, so a specific problem is reported first."""

    seq: int | None
    what: str
    specific: bool = True

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class VerifyReport:
    size: int = 0
    root: bytes = vc.EMPTY_ROOT
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (not p.specific, p.seq is None, p.seq or 0))


@dataclass(frozen=True)
class Connector:
    """Opens a new DB-API connection to the same database (picklable, for worker processes)."""

    vendor: str
    params: tuple[tuple[str, str], ...]

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file, which the native verifier reads directly; None for PostgreSQL."""
        return dict(self.params)["database"] if self.vendor == "sqlite" else None

    def __call__(self):
        if self.vendor == "sqlite":
            return sqlite3.connect(dict(self.params)["database"])
        import psycopg

        return psycopg.connect(**dict(self.params))

    @classmethod
    def for_django(cls, connection) -> Connector | None:
        """A connector for a Django connection, or None (in-memory SQLite cannot be shared)."""
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            name = str(settings["NAME"])
            if name == ":memory:" or "mode=memory" in name or connection.is_in_memory_db():
                return None
            return cls("sqlite", (("database", name),))
        if connection.vendor == "postgresql":
            keys = {"dbname": settings["NAME"], "user": settings["USER"], "password": settings["PASSWORD"]}
            keys |= {"host": settings["HOST"], "port": str(settings["PORT"] or "")}
            return cls("postgresql", tuple((k, str(v)) for k, v in keys.items() if v))
        return None


class _Db:
    """Tiny adapter: ``%s`` placeholders on any DB-API connection (sqlite3 wants ``?``)."""

    def __init__(self, conn, sqlite_path: str | None = None) -> None:
        self.conn = conn
        # The same database's file, when the ledger rows may be read from it directly (by the
        # native module, outside this connection: so only when it has no open transaction).
        self.sqlite_path = sqlite_path if fast_merkle.sqlite_leaf_level else None
        self.qmark = isinstance(conn, sqlite3.Connection)
        # A raw psycopg connection (worker processes) reads bytea in binary: no hex to decode.
        self.binary = type(conn).__module__.startswith("psycopg")

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self.conn.cursor(binary=True) if self.binary else self.conn.cursor()
        try:
            cursor.execute(sql.replace("%s", "?") if self.qmark else sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()


@dataclass
class _Chunk:
    """What one aligned chunk of leaves contributes, computed from its rows and its stored
    subtrees alone (so worker processes can compute chunks in parallel): the first problem in
    it, its root when complete, and the compact range of every wanted size that ends inside it.
    ``node_problem`` is a stored subtree inside the chunk that is missing or wrong; unlike
    ``problem`` it does not stop the walk (the roots are still recomputed from the leaves)."""

    start: int
    end: int
    problem: Problem | None = None
    node_problem: Problem | None = None
    partials: dict[int, list[bytes]] = field(default_factory=dict)
    root: bytes | None = None


_ROWS_SQL = "SELECT seq, body, leaf_hash FROM audit_ledgerentry WHERE seq >= %s AND seq < %s ORDER BY seq"
_NODES_SQL = 'SELECT "index", hash FROM audit_ledgernode WHERE level = %s AND "index" >= %s AND "index" < %s ORDER BY "index"'


def _as_bytes_rows(rows: list[tuple]) -> list[tuple]:
    """Rows with blobs as ``bytes`` (sqlite3 and psycopg 3 already return bytes; other drivers,
    or Django's cursor on some backends, may return memoryviews)."""
    if rows and not isinstance(rows[0][1], bytes):
        return [tuple(bytes(v) if isinstance(v, memoryview | bytearray) else v for v in row) for row in rows]
    return rows


def _missing_node(level: int, index: int, stored: bytes | None) -> Problem:
    first, last = index << level, ((index + 1) << level) - 1
    what = (
        "is missing"
        if stored is None
        else "does not match the leaves (an entry in that range was changed, reordered or replaced, or the node was)"
    )
    return Problem(first, f"stored subtree L{level}#{index} over seq {first}..{last} {what}")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. A chunk allocates ~200,000 tuples and hashes that
    hold no reference cycles; left on, the collector would traverse every object of the process
    again and again while they are created (measured: about a third of the verifier's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan_chunk(db: _Db, start: int, end: int, wanted: list[int], chunk_bits: int) -> _Chunk:
    """Check leaves ``[start, end)`` (one aligned chunk): contiguity, leaf hashes, the stored
    subtrees that lie inside the chunk; and compute what the walk needs from it."""
    with _gc_paused():
        return _check_chunk(db, start, end, wanted, chunk_bits)


def _check_chunk(db: _Db, start: int, end: int, wanted: list[int], chunk_bits: int) -> _Chunk:
    chunk = _Chunk(start, end)
    if db.sqlite_path:
        leaves, problem = fast_merkle.sqlite_leaf_level(db.sqlite_path, start, end)
    else:
        leaves, problem = fast_merkle.leaf_level(_as_bytes_rows(db.all(_ROWS_SQL, (start, end))), start)
    read = len(leaves) // fast_merkle.HASH_SIZE
    if (problem and problem[0] == "seq") or read != end - start:
        missing = start + (problem[1] if problem and problem[0] == "seq" else read)
        chunk.problem = Problem(missing, f"missing: the log has no entry {missing} (it jumps from {missing - 1})")
        return chunk
    if problem:
        chunk.problem = Problem(
            start + problem[1], "body does not hash to its stored leaf hash (the body or the hash was changed)"
        )
        return chunk
    levels = fast_merkle.perfect_levels(leaves)
    # Stored subtrees inside the chunk, smallest first: the first bad one pins the fault best.
    for level in range(STORED_MIN_LEVEL, min(chunk_bits, len(levels) - 1) + 1):
        base, computed = start >> level, levels[level]
        count = len(computed) // fast_merkle.HASH_SIZE
        found = db.all(_NODES_SQL, (level, base, base + count))
        if [index for index, _ in found] == list(range(base, base + count)) and b"".join(
            bytes(value) for _, value in found
        ) == computed:
            continue
        by_index = {index: bytes(value) for index, value in found}
        offset = next(i for i in range(count) if by_index.get(base + i) != fast_merkle.hash_at(computed, i))
        chunk.node_problem = _missing_node(level, base + offset, by_index.get(base + offset))
        break
    for size in wanted:
        if start < size <= end:
            count, offset, parts = size - start, 0, []
            for level in range(count.bit_length() - 1, -1, -1):
                if count & (1 << level):
                    parts.append(fast_merkle.hash_at(levels[level], offset >> level))
                    offset += 1 << level
            chunk.partials[size] = parts
    if end - start == 1 << chunk_bits:
        chunk.root = levels[chunk_bits]
    return chunk


# --- worker processes: one connection each, opened once -------------------------------------------

_worker_db: _Db | None = None


def _worker_init(connect) -> None:
    global _worker_db
    _worker_db = _Db(connect(), sqlite_path=getattr(connect, "sqlite_path", None))


def _worker_scan(start: int, end: int, wanted: list[int], chunk_bits: int) -> _Chunk:
    return _scan_chunk(_worker_db, start, end, wanted, chunk_bits)


class _Walk:
    """Folds scanned chunks, in order, into the tree: roots at the wanted sizes, and the stored
    subtrees above chunk level (``upper``: (level, index) -> hash) compared as they complete."""

    def __init__(self, upper: dict[tuple[int, int], bytes], wanted_sizes: set[int], report: VerifyReport, chunk_bits: int):
        self.upper = upper
        self.chunk_bits = chunk_bits
        self.wanted = sorted(wanted_sizes)
        self.roots: dict[int, bytes] = {}
        self.stack: list[tuple[int, int, bytes]] = []  # (level, index, hash), decreasing levels
        self.report = report
        self.node_problem = False
        if 0 in wanted_sizes:
            self.roots[0] = vc.EMPTY_ROOT

    def _note_node_problem(self, problem: Problem) -> None:
        if not self.node_problem:
            self.node_problem = True
            self.report.problems.append(problem)

    def _node(self, level: int, index: int, value: bytes) -> None:
        """Compare a recomputed complete subtree above chunk level with the stored one."""
        if level < STORED_MIN_LEVEL:
            return
        stored = self.upper.pop((level, index), None)
        if stored != value:
            self._note_node_problem(_missing_node(level, index, stored))

    def absorb(self, chunk: _Chunk) -> None:
        if chunk.node_problem is not None:
            self._note_node_problem(chunk.node_problem)
        for size, parts in chunk.partials.items():
            self.roots[size] = vc.fold_right([value for _, _, value in self.stack] + parts)
        if chunk.root is not None:
            self.stack.append((self.chunk_bits, chunk.start >> self.chunk_bits, chunk.root))
            while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
                level, right_index, right = self.stack.pop()
                _, _, left = self.stack.pop()
                merged = vc.node_hash(left, right)
                self.stack.append((level + 1, right_index >> 1, merged))
                self._node(level + 1, right_index >> 1, merged)


def _scan(db: _Db, size: int, wanted: list[int], *, workers: int, connect, chunk_bits: int) -> Iterator[_Chunk]:
    """Scanned chunks in seq order: in this thread, or computed by ``workers`` threads (when the
    native module reads the SQLite file) or processes (otherwise)."""
    chunk_size = 1 << chunk_bits
    bounds = [(start, min(start + chunk_size, size)) for start in range(0, size, chunk_size)]
    if workers <= 1 or connect is None or len(bounds) < 2:
        for start, end in bounds:
            yield _scan_chunk(db, start, end, wanted, chunk_bits)
        return
    if db.sqlite_path:
        # The native module reads and hashes a chunk with the GIL released (what little Python
        # is left per chunk is a few queries), so threads run in parallel without starting
        # processes: each opens its own short-lived connection per chunk.
        pool = ThreadPoolExecutor(min(workers, len(bounds)))
        task = functools.partial(_scan_chunk_on, connect)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Rows read through a Python driver hold the GIL, so processes. spawn, not fork: a
        # forked child can inherit locks held by other threads of this process (a test runner,
        # a Celery client). This module needs no Django, so a fresh interpreter starts fast;
        # each worker opens its own connection once.
        pool = ProcessPoolExecutor(
            min(workers, len(bounds)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(connect,),
        )
        task = _worker_scan
    try:
        # One task per chunk keeps every worker busy to the end; results are consumed in seq order.
        futures = [pool.submit(task, start, end, wanted, chunk_bits) for start, end in bounds]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _scan_chunk_on(connect, start: int, end: int, wanted: list[int], chunk_bits: int) -> _Chunk:
    """``_scan_chunk`` on a connection of its own (for a worker thread)."""
    conn = connect()
    try:
        return _scan_chunk(_Db(conn, sqlite_path=connect.sqlite_path), start, end, wanted, chunk_bits)
    finally:
        conn.close()


def _expected_node_count(size: int) -> int:
    """How many subtrees a log of ``size`` entries stores: every complete one at a stored level."""
    return sum(size >> level for level in range(STORED_MIN_LEVEL, size.bit_length()))


def default_workers(connect) -> int:
    """Worker processes ``audit_verify`` uses by default: one per CPU (at most 8) when the
    database can be opened again from another process, else 1."""
    return min(os.cpu_count() or 1, 8) if connect is not None else 1


def verify_ledger(
    conn, *, verifiers: list[vc.Verifier], origin: str, outside_note: str | None = None, workers: int = 1, connect=None
) -> VerifyReport:
    """Verify the ledger stored behind ``conn``; see the module docstring for what is checked.

    With ``connect`` (a callable returning a new DB-API connection to the same database) the
    cross-checks run on a second connection in a thread while the log is hashed, and
    ``workers > 1`` hashes the log in that many threads (the native module reading a SQLite
    file) or processes (otherwise); the result is the same.
    """
    db = _Db(conn, sqlite_path=getattr(connect, "sqlite_path", None))
    report = VerifyReport()
    chunk_bits = CHUNK_BITS
    # The cross-checks are joins the database runs on its own (sqlite3 and psycopg release the
    # GIL), so with a second connection they overlap the hashing.
    executor = ThreadPoolExecutor(1) if connect is not None else None
    cross_checks = executor.submit(_cross_check_on, connect) if executor else None
    # The walk proves seqs 0..MAX(seq) are each present once (seq is unique), so the only rows it
    # does not see have a negative seq: count those (an index probe; COUNT(*) is a full scan).
    extent = "SELECT MAX(seq), (SELECT COUNT(*) FROM audit_ledgerentry WHERE seq < 0) FROM audit_ledgerentry"
    (last_seq, below) = db.all(extent)[0]
    if last_seq is not None and not isinstance(last_seq, int):
        # Only in a SQLite file rewritten by hand (a non-key column there takes any type): with
        # no integer end there is no tree to walk.
        report.problems.append(Problem(None, "a sequence number is not an integer: the ledger table was rewritten"))
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        return report
    size = 0 if last_seq is None else int(last_seq) + 1
    report.size = size
    upper = {
        (int(lv), int(ix)): bytes(h)
        for lv, ix, h in db.all('SELECT level, "index", hash FROM audit_ledgernode WHERE level > %s', (chunk_bits,))
    }
    (node_count,) = db.all("SELECT COUNT(*) FROM audit_ledgernode")[0]

    # Checkpoints: signature, origin and row first; their roots are compared after the walk.
    wanted: dict[int, list[tuple[str, bytes]]] = {}
    for row_id, tree_size, root_hash, note in db.all(
        "SELECT id, tree_size, root_hash, note FROM audit_checkpoint ORDER BY tree_size"
    ):
        label = f"stored checkpoint #{row_id} (size {tree_size})"
        try:
            checkpoint, _ = vc.open_checkpoint(note, verifiers, origin=origin)
        except vc.NoteError as exc:
            report.problems.append(Problem(None, f"{label}: {exc}"))
            continue
        if checkpoint.size != tree_size or checkpoint.root != bytes(root_hash):
            report.problems.append(Problem(None, f"{label}: the row's size or root differs from its signed note"))
            continue
        report.checkpoints += 1
        wanted.setdefault(checkpoint.size, []).append((label, checkpoint.root))
    if outside_note is not None:
        try:
            checkpoint, _ = vc.open_checkpoint(outside_note, verifiers, origin=origin)
        except vc.NoteError as exc:
            report.problems.append(Problem(None, f"outside checkpoint: {exc}"))
        else:
            wanted.setdefault(checkpoint.size, []).append(("outside checkpoint", checkpoint.root))
    for tree_size, labels in wanted.items():
        if tree_size > size:
            for label, _ in labels:
                report.problems.append(
                    Problem(
                        size,
                        f"the log ends before seq {size} but {label} covers {tree_size} entries: "
                        "entries were deleted from the tail or an older backup was restored",
                    )
                )

    # The walk, chunk by chunk: contiguity, leaf hashes, stored subtrees, roots at checkpoint sizes.
    walk = _Walk(upper, {s for s in wanted if s <= size} | {size}, report, chunk_bits)
    intact = True
    for chunk in _scan(db, size, walk.wanted, workers=workers, connect=connect, chunk_bits=chunk_bits):
        if chunk.problem:
            report.problems.append(chunk.problem)
            intact = False
            break
        walk.absorb(chunk)
    if intact and below:
        report.problems.append(Problem(None, f"{size + below} rows for {size} sequence numbers ({below} with a negative seq)"))
        intact = False
    if intact:
        extra = _first_extra_node(db, size) if node_count > _expected_node_count(size) else None
        if extra is not None:
            level, index = extra
            report.problems.append(
                Problem(index << level, f"stored subtree L{level}#{index} lies beyond the complete part of the log")
            )
        report.root = walk.roots.get(size, vc.EMPTY_ROOT)
        matched = 0
        for tree_size in sorted(s for s in wanted if s <= size):
            for label, root in wanted[tree_size]:
                if walk.roots.get(tree_size) != root:
                    report.problems.append(
                        Problem(
                            matched,
                            f"{label} does not match the log's first {tree_size} entries: an entry in seq {matched}..{tree_size - 1} "
                            "was changed, removed, reordered or inserted (or the log was rewritten)",
                            specific=False,
                        )
                    )
                else:
                    matched = max(matched, tree_size)

    report.problems.extend(cross_checks.result() if cross_checks else _cross_check(db))
    if executor is not None:
        executor.shutdown()
    return report


def _first_extra_node(db: _Db, size: int) -> tuple[int, int] | None:
    """The lowest stored subtree that is not complete in a log of ``size`` entries, if any."""
    for level in range(STORED_MIN_LEVEL, 64):
        rows = db.all(
            'SELECT "index" FROM audit_ledgernode WHERE level = %s AND "index" >= %s ORDER BY "index" LIMIT 1',
            (level, size >> level),
        )
        if rows:
            return level, int(rows[0][0])
    return None


def _cross_check_on(connect) -> list[Problem]:
    db = _Db(connect())
    try:
        return _cross_check(db)
    finally:
        db.conn.close()


def _cross_check(db: _Db) -> list[Problem]:
    """Every ledger entry's event exists and has the same body; every event is in the log or
    pending, and every pending entry names an existing event."""
    problems = []
    # MIN over the whole join, not ORDER BY ... LIMIT 1: with a LIMIT PostgreSQL plans a nested
    # loop of a million index probes (measured 0.9 s); for an aggregate it merges (0.45 s).
    ((seq,),) = db.all(
        "SELECT MIN(le.seq) FROM audit_ledgerentry le LEFT JOIN audit_auditevent e ON e.id = le.event_id"
        " WHERE e.id IS NULL OR le.body <> e.body"
    )
    if seq is not None:
        ((event_id, missing),) = db.all(
            "SELECT le.event_id, NOT EXISTS (SELECT 1 FROM audit_auditevent e WHERE e.id = le.event_id)"
            " FROM audit_ledgerentry le WHERE le.seq = %s",
            (seq,),
        )
        if missing:
            problems.append(Problem(seq, f"the event #{event_id} this entry records is missing from the events table"))
        else:
            problems.append(Problem(seq, f"the ledger body differs from the body recorded for event #{event_id}"))
    events, entries, pending, both, dangling = db.all(
        "SELECT (SELECT COUNT(*) FROM audit_auditevent), (SELECT COUNT(*) FROM audit_ledgerentry), (SELECT COUNT(*) FROM audit_pendingevent),"
        " (SELECT COUNT(*) FROM audit_pendingevent p JOIN audit_ledgerentry le ON le.event_id = p.event_id),"
        " (SELECT COUNT(*) FROM audit_pendingevent p WHERE NOT EXISTS (SELECT 1 FROM audit_auditevent e WHERE e.id = p.event_id))"
    )[0]
    if both:
        problems.append(Problem(None, f"{both} event(s) are both in the log and still pending"))
    if dangling:
        problems.append(
            Problem(None, f"{dangling} pending entr{'y names' if dangling == 1 else 'ies name'} an event that does not exist")
        )
    if problems or events != entries + pending:
        # Each entry and pending row names its own existing event (checked above), so unless
        # the counts differ no event can be in neither; otherwise find the first that is.
        orphan = db.all(
            "SELECT e.id FROM audit_auditevent e WHERE NOT EXISTS (SELECT 1 FROM audit_ledgerentry le WHERE le.event_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM audit_pendingevent p WHERE p.event_id = e.id) ORDER BY e.id LIMIT 1"
        )
        if orphan:
            problems.append(
                Problem(None, f"event #{orphan[0][0]} is neither in the log nor pending (its queue entry was removed)")
            )
    return problems
