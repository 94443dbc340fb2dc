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

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

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

    def __init__(self, conn) -> None:
        self.conn = conn
        self.qmark = isinstance(conn, sqlite3.Connection)

    def rows(self, sql: str, params: tuple = (), size: int = 20_000) -> Iterator[tuple]:
        # Django's chunked cursor is server-side on PostgreSQL: a million rows are streamed, not buffered.
        cursor = self.conn.chunked_cursor() if hasattr(self.conn, "chunked_cursor") else self.conn.cursor()
        try:
            cursor.execute(sql.replace("%s", "?") if self.qmark else sql, params)
            while batch := cursor.fetchmany(size):
                yield from batch
        finally:
            cursor.close()

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql.replace("%s", "?") if self.qmark else sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()


@dataclass
class _Chunk:
    """What one chunk of leaves contributes: its stored-level subtrees, its root when complete,
    and the compact range of every checkpointed size that ends inside it. Computed from the
    rows alone, so worker processes can compute chunks in parallel."""

    start: int
    end: int
    problem: Problem | None = None
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)
    partials: dict[int, list[bytes]] = field(default_factory=dict)
    root: bytes | None = None


def _scan_chunk(start: int, end: int, rows: list[tuple], wanted: list[int], chunk_bits: int) -> _Chunk:
    chunk = _Chunk(start, end)
    seqs = [row[0] for row in rows]
    if seqs != list(range(start, end)):
        missing = next(seq for seq, got in zip(range(start, end), [*seqs, None], strict=False) if seq != got)
        chunk.problem = Problem(missing, f"missing: the log has no entry {missing} (it jumps from {missing - 1})")
        return chunk
    leaves = vc.leaf_hashes([row[1] if isinstance(row[1], bytes) else bytes(row[1]) for row in rows])
    stored = [row[2] if isinstance(row[2], bytes) else bytes(row[2]) for row in rows]
    if leaves != stored:
        bad = next(i for i, (a, b) in enumerate(zip(leaves, stored, strict=True)) if a != b)
        chunk.problem = Problem(start + bad, "body does not hash to its stored leaf hash (the body or the hash was changed)")
        return chunk
    levels = vc.perfect_levels(leaves)
    for level in range(STORED_MIN_LEVEL, len(levels)):
        base = start >> level
        chunk.nodes.extend((level, base + offset, value) for offset, value in enumerate(levels[level]))
    for size in wanted:
        if start < size <= end:
            count, offset, parts = size - start, 0, []
            for level in range(count.bit_length() - 1, -1, -1):
                if count & (1 << level):
                    parts.append(levels[level][offset >> level])
                    offset += 1 << level
            chunk.partials[size] = parts
    if end - start == 1 << chunk_bits:
        chunk.root = levels[chunk_bits][0]
    return chunk


_ROWS_SQL = "SELECT seq, body, leaf_hash FROM audit_ledgerentry WHERE seq >= %s AND seq < %s ORDER BY seq"


def _scan_range(connect, start: int, end: int, wanted: list[int], chunk_bits: int) -> list[_Chunk]:
    """Worker: scan chunks ``[start, end)`` on a connection of its own; stops at the first problem."""
    db = _Db(connect())
    out = []
    for chunk_start in range(start, end, 1 << chunk_bits):
        chunk_end = min(chunk_start + (1 << chunk_bits), end)
        chunk = _scan_chunk(chunk_start, chunk_end, db.all(_ROWS_SQL, (chunk_start, chunk_end)), wanted, chunk_bits)
        out.append(chunk)
        if chunk.problem:
            break
    db.conn.close()
    return out


class _Walk:
    """Folds scanned chunks, in order, into the tree: stored-node comparisons and roots."""

    def __init__(self, nodes: dict[tuple[int, int], bytes], wanted_sizes: set[int], report: VerifyReport) -> None:
        self.nodes = nodes
        self.wanted = sorted(wanted_sizes)
        self.roots: dict[int, bytes] = {}
        self.stack: list[tuple[int, int, bytes]] = []  # (level, index, hash), decreasing levels
        self.report = report
        self.node_problem = False
        if 0 in wanted_sizes:
            self.roots[0] = vc.EMPTY_ROOT

    def _node(self, level: int, index: int, value: bytes) -> None:
        """Compare a recomputed complete subtree with the stored one (first difference reported)."""
        if level < STORED_MIN_LEVEL:
            return
        stored = self.nodes.pop((level, index), None)
        if stored == value or self.node_problem:
            return
        self.node_problem = True
        first, last = index << level, ((index + 1) << level) - 1
        what = (
            "is missing"
            if stored is None
            else "does not match the leaves (an entry in that range was changed, reordered or replaced, or the node was)"
        )
        self.report.problems.append(Problem(first, f"stored subtree L{level}#{index} over seq {first}..{last} {what}"))

    def absorb(self, chunk: _Chunk) -> None:
        for level, index, value in chunk.nodes:
            self._node(level, index, value)
        for size, parts in chunk.partials.items():
            self.roots[size] = vc.fold_right([value for _, _, value in self.stack] + parts)
        if chunk.root is not None:
            self.stack.append((CHUNK_BITS, chunk.start >> CHUNK_BITS, chunk.root))
            while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
                level, right_index, right = self.stack.pop()
                _, _, left = self.stack.pop()
                merged = vc.node_hash(left, right)
                self.stack.append((level + 1, right_index >> 1, merged))
                self._node(level + 1, right_index >> 1, merged)


def _scan(db: _Db, size: int, wanted: list[int], *, workers: int, connect) -> Iterator[_Chunk]:
    """Scanned chunks in seq order: in this process, or split across ``workers`` processes."""
    chunk_size = 1 << CHUNK_BITS
    chunks = -(-size // chunk_size)
    if workers <= 1 or connect is None or chunks < 2 * workers:
        for start in range(0, size, chunk_size):
            end = min(start + chunk_size, size)
            yield _scan_chunk(start, end, db.all(_ROWS_SQL, (start, end)), wanted, CHUNK_BITS)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    per = -(-chunks // workers) * chunk_size
    ranges = [(start, min(start + per, size)) for start in range(0, size, per)]
    # spawn, not fork: a forked child can inherit locks held by other threads of this process
    # (a test runner, a Celery client). This module needs no Django, so a fresh interpreter
    # starts fast; each worker opens its own connection.
    with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_scan_range, connect, start, end, wanted, CHUNK_BITS) for start, end in ranges]
        for future in futures:
            yield from future.result()


def verify_ledger(
    conn, *, verifiers: list[vc.Verifier], origin: str, outside_note: str | None = None, workers: int = 1, connect=None
) -> VerifyReport:
    """Verify the ledger stored behind ``conn``; see the module docstring for what is checked.

    ``workers > 1`` with ``connect`` (a callable returning a new DB-API connection to the same
    database) scans the log in that many processes; the result is the same.
    """
    db = _Db(conn)
    report = VerifyReport()
    # The cross-checks are joins the database runs on its own: with a second connection (and no
    # worker processes) they run in a thread (SQLite and psycopg release the GIL) while this
    # process hashes.
    executor = None
    if connect is not None and workers <= 1:
        executor = ThreadPoolExecutor(1)
        cross_checks = executor.submit(_cross_check_on, connect)
    else:
        # Worker processes are forked: never fork while another thread exists (the child would
        # inherit whatever locks it holds). With workers, the cross-checks run here, first.
        cross_checks = _Done(_cross_check(db))
    (last_seq, count) = db.all("SELECT MAX(seq), COUNT(*) FROM audit_ledgerentry")[0]
    size = 0 if last_seq is None else int(last_seq) + 1
    report.size = size
    nodes = {(int(lv), int(ix)): bytes(h) for lv, ix, h in db.rows('SELECT level, "index", hash FROM audit_ledgernode')}

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
    walk = _Walk(nodes, {s for s in wanted if s <= size} | {size}, report)
    intact = True
    for chunk in _scan(db, size, walk.wanted, workers=workers, connect=connect):
        if chunk.problem:
            report.problems.append(chunk.problem)
            intact = False
            break
        walk.absorb(chunk)
    if intact and count != size:
        report.problems.append(Problem(None, f"{count} rows for {size} sequence numbers"))
        intact = False
    if intact:
        for (level, index), _ in sorted(walk.nodes.items()):
            report.problems.append(
                Problem(index << level, f"stored subtree L{level}#{index} lies beyond the complete part of the log")
            )
            break
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

    report.problems.extend(cross_checks.result())
    if executor is not None:
        executor.shutdown()
    return report


@dataclass
class _Done:
    """An already computed result with the Future.result() interface."""

    value: list

    def result(self) -> list:
        return self.value


def _cross_check_on(connect) -> list[Problem]:
    db = _Db(connect())
    try:
        return _cross_check(db)
    finally:
        db.conn.close()


def _cross_check(db: _Db) -> list[Problem]:
    """Every ledger body equals its event's body; every event is in the log or pending."""
    problems = []
    mismatch = db.all(
        "SELECT le.seq, le.event_id FROM audit_ledgerentry le JOIN audit_auditevent e ON e.id = le.event_id "
        "WHERE le.body <> e.body ORDER BY le.seq LIMIT 1"
    )
    if mismatch:
        seq, event_id = mismatch[0]
        problems.append(Problem(seq, f"the ledger body differs from the body recorded for event #{event_id}"))
    counts = db.all(
        "SELECT (SELECT COUNT(*) FROM audit_auditevent), (SELECT COUNT(*) FROM audit_ledgerentry), (SELECT COUNT(*) FROM audit_pendingevent),"
        " (SELECT COUNT(*) FROM audit_pendingevent p JOIN audit_ledgerentry le ON le.event_id = p.event_id)"
    )[0]
    if counts[3]:
        problems.append(Problem(None, f"{counts[3]} event(s) are both in the log and still pending"))
    if counts[0] == counts[1] + counts[2]:
        return problems  # cheap path: each event is in the log or pending, none in both, so none in neither
    orphan = db.all(
        "SELECT e.id FROM audit_auditevent e WHERE NOT EXISTS (SELECT 1 FROM audit_ledgerentry le WHERE le.event_id = e.id) "
        "AND NOT EXISTS (SELECT 1 FROM audit_pendingevent p WHERE p.event_id = e.id) ORDER BY e.id LIMIT 1"
    )
    if orphan:
        problems.append(Problem(None, f"event #{orphan[0][0]} is neither in the log nor pending (its queue entry was removed)"))
    return problems
