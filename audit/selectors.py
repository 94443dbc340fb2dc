"""Reads of the ledger: sizes, roots and RFC 9162 proofs from stored subtrees, event queries.

Roots and proofs never rehash the log: every hash they need is a stored complete subtree
(``LedgerNode``, 16 leaves and up) or is recomputed from at most 15 stored leaf hashes. A proof
takes two queries: the generator first runs against a recorder to learn which subtrees it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audit import verify_core
from audit.models import STORED_MIN_LEVEL, AuditEvent, Checkpoint, LedgerEntry, LedgerNode
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
    """A subtree provider loaded with exactly ``keys`` (two queries at most)."""
    node_keys = [(level, index) for level, index in keys if level >= STORED_MIN_LEVEL]
    leaf_seqs: set[int] = set()
    for level, index in keys:
        if level < STORED_MIN_LEVEL:
            leaf_seqs.update(range(index << level, (index + 1) << level))
    nodes: dict[tuple[int, int], bytes] = {}
    if node_keys:
        query = Q()
        for level, index in node_keys:
            query |= Q(level=level, index=index)
        nodes = {(lv, ix): bytes(h) for lv, ix, h in LedgerNode.objects.filter(query).values_list("level", "index", "hash")}
    leaves: dict[int, bytes] = {}
    if leaf_seqs:
        leaves = {seq: bytes(h) for seq, h in LedgerEntry.objects.filter(seq__in=leaf_seqs).values_list("seq", "leaf_hash")}

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
    """RFC 9162 inclusion proof of leaf ``seq`` in the tree of ``tree_size`` leaves."""
    _check_size(tree_size, minimum=1)
    if not isinstance(seq, int) or not 0 <= seq < tree_size:
        raise ProofRequestError(f"seq must be in 0..{tree_size - 1}")
    path = _two_pass(lambda provider: verify_core.inclusion_proof(seq, tree_size, provider))
    leaf = bytes(LedgerEntry.objects.values_list("leaf_hash", flat=True).get(seq=seq))
    return InclusionProof(seq=seq, tree_size=tree_size, leaf_hash=leaf, root=ledger_root(tree_size), path=path)


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
    path = _two_pass(lambda provider: verify_core.consistency_proof(first, second, provider))
    return ConsistencyProof(first=first, second=second, first_root=ledger_root(first), second_root=ledger_root(second), path=path)


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def event_list() -> QuerySet[AuditEvent]:
    """Every event, oldest first, with its log position (None while pending)."""
    return AuditEvent.objects.select_related("entry").order_by("id")
