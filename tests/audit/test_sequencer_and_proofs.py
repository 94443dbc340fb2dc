"""The sequencer (batches, stored subtrees, crash safety) and proofs served from stored subtrees."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit import selectors, sequencer
from audit import verify_core as vc
from audit.models import STORED_MIN_LEVEL, LedgerEntry, LedgerNode, PendingEvent
from tests.audit.conftest import add_events

pytestmark = pytest.mark.django_db


def _leaves():
    return [bytes(h) for h in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)]


@pytest.mark.parametrize("batch_size", [1, 7, 16, 1000])
def test_it_appends_contiguously_and_stores_exactly_the_completed_subtrees(batch_size):
    for chunk in (5, 30, 1, 64, 3):
        add_events(chunk, sequence=False)
        sequencer.sequence_pending(batch_size=batch_size)
    leaves = _leaves()
    assert list(LedgerEntry.objects.values_list("seq", flat=True)) == list(range(103))
    levels = vc.perfect_levels(leaves)
    expected = {(lv, ix): h for lv in range(STORED_MIN_LEVEL, len(levels)) for ix, h in enumerate(levels[lv])}
    stored = {(lv, ix): bytes(h) for lv, ix, h in LedgerNode.objects.values_list("level", "index", "hash")}
    assert stored == expected


def test_a_crash_mid_batch_leaves_no_gap_and_the_next_run_resumes(monkeypatch):
    add_events(20)
    add_events(25, sequence=False)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(sequencer, "completed_nodes", crash)
    with pytest.raises(RuntimeError), transaction.atomic():
        sequencer.sequence_pending()
    assert LedgerEntry.objects.count() == 20 and PendingEvent.objects.count() == 25
    monkeypatch.undo()
    assert sequencer.sequence_pending() == 25
    assert list(LedgerEntry.objects.values_list("seq", flat=True)) == list(range(45))
    assert selectors.ledger_root(45) == vc.root_from_leaves(_leaves())


def test_roots_and_proofs_from_stored_subtrees_match_the_reference_at_every_size():
    add_events(70)
    leaves = _leaves()
    for size in range(1, 71):
        root = vc.root_from_leaves(leaves[:size])
        assert selectors.ledger_root(size) == root
        for seq in {0, size // 2, size - 1}:
            proof = selectors.ledger_inclusion_proof(seq, size)
            assert proof.root == root and proof.leaf_hash == leaves[seq]
            assert vc.verify_inclusion(seq, size, leaves[seq], proof.path, root)
        for first in {1, size // 3 or 1, size}:
            cproof = selectors.ledger_consistency_proof(first, size)
            assert vc.verify_consistency(first, size, cproof.path, vc.root_from_leaves(leaves[:first]), root)


def test_a_proof_reads_a_handful_of_rows_not_the_log(django_assert_max_num_queries):
    add_events(300)
    with django_assert_max_num_queries(8):
        proof = selectors.ledger_inclusion_proof(123, 300)
    assert vc.verify_inclusion(123, 300, proof.leaf_hash, proof.path, proof.root)


def test_it_refuses_proofs_beyond_the_log():
    add_events(3)
    for call in (
        lambda: selectors.ledger_inclusion_proof(3, 3),
        lambda: selectors.ledger_inclusion_proof(0, 4),
        lambda: selectors.ledger_consistency_proof(0, 3),
        lambda: selectors.ledger_consistency_proof(2, 1),
    ):
        with pytest.raises(selectors.ProofRequestError):
            call()
