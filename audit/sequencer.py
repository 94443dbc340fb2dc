"""The sequencer: the only code that appends to the Merkle log.

It takes pending events in batches, oldest first, and for each batch, in ONE transaction under
ONE lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock every IMMEDIATE
transaction takes at BEGIN), reads the current size, inserts the next ``LedgerEntry`` rows, deletes
their ``PendingEvent`` markers and stores the hash of every subtree the batch completed. A crash
rolls the whole batch back, so the log never holds a gap or a half-written subtree; the next run
continues from the last committed size. Requests never append: they only insert events.

Who runs it (``CUSTOS_LEDGER_SEQUENCER``): ``background`` (servers and workers) wakes this
process's :class:`Drainer` thread when a transaction that recorded events commits; the thread
appends everything pending in one transaction, so concurrent requests share one sequencing
transaction (group commit) and none waits for it. ``inline`` runs the sequencer in the committing
thread right after commit (tests, whose uncommitted rows another connection cannot see). Either
way the periodic ``ledger_sequence`` task is the backstop, and readers that need sequence numbers
append what is pending first (``audit_verify``, checkpoints, evidence bundles, the ledger page,
inclusion and consistency proofs); the events API lists pending events as they are (seq null).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from audit import verify_core
from audit.models import STORED_MIN_LEVEL, LedgerEntry, LedgerNode, PendingEvent

# Key of the PostgreSQL advisory lock held by the sequencer ("custos" in ASCII).
ADVISORY_LOCK_KEY = 0x637573746F73
logger = logging.getLogger(__name__)
RETRIES = 3  # a failed drainer run is retried this many times (with a short pause) before it waits


class LedgerError(RuntimeError):
    """The stored log is not in the state the sequencer or a proof needs (a bug or tampering)."""


def lock(*, wait: bool = True) -> bool:
    """Take the sequencer lock for the current transaction; with ``wait=False`` give up (False)
    at once if another process holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if not wait:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
                return bool(cursor.fetchone()[0])
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
    # SQLite: settings open every transaction with BEGIN IMMEDIATE, which already is the lock.
    return True


def current_size() -> int:
    """Number of leaves in the log (committed, or appended in the current transaction)."""
    with connection.cursor() as cursor:  # plain SQL: this runs before every proof and append
        cursor.execute("SELECT MAX(seq) FROM audit_ledgerentry")
        last = cursor.fetchone()[0]
    return 0 if last is None else int(last) + 1


def sequence_pending(*, batch_size: int | None = None, max_batches: int | None = None, wait: bool = True) -> int:
    """Append every pending event to the log, ``batch_size`` per transaction; returns how many.

    Safe to call from any number of processes at once (they queue on the lock) and from inside
    an outer transaction (the batch then commits with it). ``wait=False`` (the after-commit run)
    returns at once when another sequencer holds the lock: that one, or the periodic
    ``ledger_sequence`` task, appends the waiting events.
    """
    from audit.checks import ensure_triggers

    ensure_triggers()
    size = batch_size or settings.CUSTOS_LEDGER_BATCH_SIZE
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        appended = sequence_batch(batch_size=size, wait=wait)
        total += appended
        batches += 1
        if appended < size:
            break
    return total


def sequence_batch(*, batch_size: int, wait: bool = True) -> int:
    """Append at most ``batch_size`` pending events in one transaction; returns how many."""
    with transaction.atomic():
        if not lock(wait=wait):
            return 0
        pending = list(PendingEvent.objects.order_by("event_id").values_list("event_id", "event__body")[:batch_size])
        if not pending:
            return 0
        old_size = current_size()
        entries, leaves = [], []
        for offset, (event_id, body) in enumerate(pending):
            body = bytes(body)
            leaf = verify_core.leaf_hash(body)  # the body is the authority; its hash is recomputed here
            leaves.append(leaf)
            entries.append(LedgerEntry(seq=old_size + offset, event_id=event_id, body=body, leaf_hash=leaf))
        LedgerEntry.objects.bulk_create(entries)
        PendingEvent.objects.filter(event_id__in=[event_id for event_id, _ in pending]).delete()
        LedgerNode.objects.bulk_create(completed_nodes(old_size, leaves))
    return len(pending)


def completed_nodes(old_size: int, new_leaves: list[bytes]) -> list[LedgerNode]:
    """The stored subtrees completed by appending ``new_leaves`` to a log of ``old_size`` leaves.

    Reads at most 15 older leaf hashes and one older node per level from the database.
    """
    base = STORED_MIN_LEVEL
    new_size = old_size + len(new_leaves)
    block_start = (old_size >> base) << base
    prefix: list[bytes] = []
    if block_start < old_size:
        prefix = [
            bytes(h)
            for h in LedgerEntry.objects.filter(seq__gte=block_start, seq__lt=old_size)
            .order_by("seq")
            .values_list("leaf_hash", flat=True)
        ]
        if len(prefix) != old_size - block_start:
            raise LedgerError(f"leaves {block_start}..{old_size - 1} are not all present")
    leaves = prefix + new_leaves
    computed: dict[tuple[int, int], bytes] = {}
    fresh: list[tuple[int, int]] = []
    for index in range(old_size >> base, new_size >> base):
        lo = (index << base) - block_start
        computed[(base, index)] = verify_core.root_from_leaves(leaves[lo : lo + (1 << base)])
        fresh.append((base, index))

    # A node at (level, j) is new when it completes in (old_size, new_size]. Its children are new
    # too, except a left child that completed before this batch: fetch those in one query.
    levels = range(base + 1, new_size.bit_length())
    old_children = [
        (level - 1, child)
        for level in levels
        for index in range(old_size >> level, new_size >> level)
        for child in (2 * index, 2 * index + 1)
        if ((child + 1) << (level - 1)) <= old_size
    ]
    if old_children:
        query = Q()
        for level, index in old_children:
            query |= Q(level=level, index=index)
        for level, index, value in LedgerNode.objects.filter(query).values_list("level", "index", "hash"):
            computed[(level, index)] = bytes(value)
        missing = [key for key in old_children if key not in computed]
        if missing:
            raise LedgerError(f"stored subtree nodes missing: {missing[:3]}")
    for level in levels:
        for index in range(old_size >> level, new_size >> level):
            computed[(level, index)] = verify_core.node_hash(
                computed[(level - 1, 2 * index)], computed[(level - 1, 2 * index + 1)]
            )
            fresh.append((level, index))
    return [LedgerNode(level=level, index=index, hash=computed[(level, index)]) for level, index in fresh]


def drain() -> int:
    """For readers that need sequence numbers: append whatever is pending now (waiting for the
    lock), so the caller sees every event committed before it; returns how many it appended.
    One cheap existence check when nothing is pending."""
    if not PendingEvent.objects.exists():
        return 0
    return sequence_pending()


class Drainer:
    """This process's background sequencer (group commit of the ledger).

    :meth:`wake` is all a committing request pays: it bumps a counter and sets an event. The
    thread then waits ``CUSTOS_LEDGER_DRAIN_DELAY_MS`` (default 5 ms) so that concurrent commits
    gather, and appends every pending event (its own process's and any other's) in one
    transaction per ``CUSTOS_LEDGER_BATCH_SIZE``, waiting for the sequencer lock (another
    process's drainer, a reader's :func:`drain`). Wakes during a run make it run again.

    Nothing is lost if the process or the thread dies: the events and their pending markers were
    committed with the change, and a failed run rolls back whole (the events stay pending, in
    the same order). They are appended by the next run of any drainer, by a reader that drains,
    by the periodic task, or when a process starts serving (:func:`serve_started`: the first
    request of each server process wakes its drainer). A dead thread is restarted by the next
    :meth:`wake`, and after ``fork`` (gunicorn ``--preload``, Celery prefork). At interpreter exit
    (gunicorn's graceful worker exit, ``--max-requests``, a short-lived command) a process whose
    drainer has not caught up with its wakes drains once more in the exiting thread.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._guard = threading.Lock()
        self._count = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._exit_hook = False
        self.requested = 0  # wakes so far (this process)
        self.done = 0  # wakes covered by a completed run: a run that started after them succeeded
        self.runs = 0  # sequencing runs started by this process's thread (for tests, bench)
        self.failures = 0  # runs that raised (their events stay pending)

    def wake(self) -> None:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._start()
        with self._count:
            self.requested += 1
        self._wake.set()

    def idle(self) -> bool:
        """True when every wake so far is covered by a completed run (tests, bench, exit)."""
        return self.done >= self.requested

    def _start(self) -> None:
        with self._guard:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            if not self._exit_hook:
                atexit.register(self._at_exit)  # inherited by forked children; it checks the pid
                self._exit_hook = True
            if self._pid != os.getpid():  # a forked child must not share the parent's state
                self._wake = threading.Event()
                self.requested = self.done = 0
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="custos-ledger-drainer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        from django.db import connections

        delay = max(0, int(getattr(settings, "CUSTOS_LEDGER_DRAIN_DELAY_MS", 5))) / 1000
        while True:
            self._wake.wait()
            if delay:
                time.sleep(delay)  # gather the commits arriving meanwhile
            self._wake.clear()
            covered = self.requested  # every wake before the clear: its commit happened before it
            self.runs += 1
            try:
                sequence_pending(wait=True)
            except Exception:  # the events stay pending: the next wake, a reader or the task appends them
                self.failures += 1
                logger.exception("audit ledger drainer failed; events stay pending for the next run")
                connections.close_all()  # this thread's connections only
                time.sleep(min(1.0, 0.05 * self.failures))  # a database that is down is not hammered
                if self.failures <= RETRIES:
                    self._wake.set()  # try again soon; after that the next wake, a reader or the task
            else:
                self.failures = 0
                self.done = max(self.done, covered)
                for conn in connections.all(initialized_only=True):  # as a request ends: kept open only
                    conn.close_if_unusable_or_obsolete()  # with DATABASE_CONN_MAX_AGE

    def _at_exit(self) -> None:
        if self._pid != os.getpid() or self.idle():
            return
        try:
            sequence_pending(wait=True)
        except Exception:
            logger.exception("audit ledger drain at exit failed; events stay pending for the next run")


drainer = Drainer()


def serve_started(**kwargs) -> None:
    """``request_started`` receiver: in background mode the first request a process serves wakes
    its drainer once, so events a dead process left pending are appended at start, not only when
    the next write commits. Later requests cost one comparison."""
    if drainer._pid != os.getpid() and getattr(settings, "CUSTOS_LEDGER_SEQUENCER", "inline") == "background":
        drainer.wake()
