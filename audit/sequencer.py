"""The sequencer: the only code that appends to the Merkle log.

It takes pending events in batches, oldest first, and for each batch, in ONE transaction under
ONE lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock every IMMEDIATE
transaction takes at BEGIN), reads the current size, inserts the next ``LedgerEntry`` rows, deletes
their ``PendingEvent`` markers and stores the hash of every subtree the batch completed. A crash
rolls the whole batch back, so the log never holds a gap or a half-written subtree; the next run
continues from the last committed size. Requests never append: they only insert events.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from audit import verify_core
from audit.models import STORED_MIN_LEVEL, LedgerEntry, LedgerNode, PendingEvent

# Key of the PostgreSQL advisory lock held by the sequencer ("custos" in ASCII).
ADVISORY_LOCK_KEY = 0x637573746F73


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
