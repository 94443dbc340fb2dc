"""Reads of the ledger: sizes, roots and RFC 9162 proofs from stored subtrees, event queries.

Roots and proofs never rehash the log: every hash they need is a stored complete subtree
(``LedgerNode``, 16 leaves and up) or is recomputed from at most 15 stored leaf hashes. A proof
takes two queries: the generator first runs against a recorder to learn which subtrees it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from audit import verify_core
from audit.models import STORED_MIN_LEVEL, AuditEvent, Checkpoint
from audit.sequencer import LedgerError, current_size


class ProofRequestError(ValueError):
    """A proof was asked for sizes or positions the log does not have."""


def ledger_size() -> int:
    return current_size()


class _Recorder:
    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def __call__(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return bytes(32)


def _stored_subtrees(keys: set[tuple[int, int]]) -> verify_core.Subtree:
    """A subtree provider loaded with exactly ``keys`` (two queries at most).

    Plain SQL on purpose: a proof needs a few dozen rows and building the equivalent ORM
    filter costs more than the queries themselves.
    """
    node_keys = sorted((level, index) for level, index in keys if level >= STORED_MIN_LEVEL)
    leaf_ranges = sorted((index << level, (index + 1) << level) for level, index in keys if level < STORED_MIN_LEVEL)
    nodes: dict[tuple[int, int], bytes] = {}
    leaves: dict[int, bytes] = {}
    with connection.cursor() as cursor:
        if node_keys:
            where = " OR ".join(['(level = %s AND "index" = %s)'] * len(node_keys))
            cursor.execute(
                f'SELECT level, "index", hash FROM audit_ledgernode WHERE {where}', [v for key in node_keys for v in key]
            )
            nodes = {(int(lv), int(ix)): bytes(h) for lv, ix, h in cursor.fetchall()}
        if leaf_ranges:
            where = " OR ".join(["(seq >= %s AND seq < %s)"] * len(leaf_ranges))
            cursor.execute(f"SELECT seq, leaf_hash FROM audit_ledgerentry WHERE {where}", [v for rng in leaf_ranges for v in rng])
            leaves = {int(seq): bytes(h) for seq, h in cursor.fetchall()}

    def subtree(level: int, index: int) -> bytes:
        if level >= STORED_MIN_LEVEL:
            try:
                return nodes[(level, index)]
            except KeyError:
                raise LedgerError(f"stored subtree L{level}#{index} is missing") from None
        try:
            return verify_core.root_from_leaves([leaves[seq] for seq in range(index << level, (index + 1) << level)])
        except KeyError:
            raise LedgerError(f"leaf hashes under L{level}#{index} are missing") from None

    return subtree


def _two_pass(generate):
    recorder = _Recorder()
    generate(recorder)
    return generate(_stored_subtrees(recorder.keys))


def _check_size(size: int, *, minimum: int = 0) -> None:
    if not isinstance(size, int) or size < minimum:
        raise ProofRequestError(f"tree size must be an integer >= {minimum}")
    if size > current_size():
        raise ProofRequestError(f"tree size {size} exceeds the log's size {current_size()}")


def ledger_root(size: int) -> bytes:
    """Root hash of the first ``size`` leaves."""
    _check_size(size)
    return _two_pass(lambda provider: verify_core.range_hash(0, size, provider))


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    path: list[bytes]


def ledger_inclusion_proof(seq: int, tree_size: int) -> InclusionProof:
    """RFC 9162 inclusion proof of leaf ``seq`` in the tree of ``tree_size`` leaves, with that
    tree's root and the leaf hash (three queries: the size, the stored nodes, the few leaves)."""
    _check_size(tree_size, minimum=1)
    if not isinstance(seq, int) or not 0 <= seq < tree_size:
        raise ProofRequestError(f"seq must be in 0..{tree_size - 1}")

    def generate(provider):
        return (
            provider(0, seq),
            verify_core.inclusion_proof(seq, tree_size, provider),
            verify_core.range_hash(0, tree_size, provider),
        )

    leaf, path, root = _two_pass(generate)
    return InclusionProof(seq=seq, tree_size=tree_size, leaf_hash=leaf, root=root, path=path)


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


def ledger_consistency_proof(first: int, second: int) -> ConsistencyProof:
    """RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``second``."""
    _check_size(second, minimum=1)
    if not isinstance(first, int) or not 0 < first <= second:
        raise ProofRequestError(f"first must be in 1..{second}")

    def generate(provider):
        return (
            verify_core.consistency_proof(first, second, provider),
            verify_core.range_hash(0, first, provider),
            verify_core.range_hash(0, second, provider),
        )

    path, first_root, second_root = _two_pass(generate)
    return ConsistencyProof(first=first, second=second, first_root=first_root, second_root=second_root, path=path)


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def event_list() -> QuerySet[AuditEvent]:
    """Every event, oldest first, with its log position (None while pending)."""
    return AuditEvent.objects.select_related("entry").order_by("id")
