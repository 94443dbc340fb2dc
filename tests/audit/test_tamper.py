"""Tamper matrix: an attacker with full access to a copy of the database (no triggers, any SQL).
Each rewrite is detected and reported specifically by the verifier that audit_verify runs, on each
of its hashing paths (the ``verify`` fixture: pure Python, native on rows, native on the file)."""

from __future__ import annotations

import pytest
from django.conf import settings

from audit import verify_core as vc
from audit.keys import trusted_verifiers
from audit.models import STORED_MIN_LEVEL
from audit.services import checkpoint_create
from audit.verification import verify_ledger
from tests.audit.conftest import NATIVE_MISSING, add_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_log(ledger_key):
    """50 events, checkpoints at 30 and 50; returns the latest checkpoint note (kept outside)."""
    add_events(30)
    checkpoint_create()
    add_events(20)
    return checkpoint_create().note


def _text(report):
    return "\n".join(str(p) for p in report.problems)


def test_an_untouched_copy_verifies(signed_log, ledger_copy, verify):
    report = verify(ledger_copy(), signed_log)
    assert report.ok, _text(report)
    assert (report.size, report.checkpoints) == (50, 2)


def test_a_flipped_byte_in_a_body_is_named_by_its_seq(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    body = bytearray(copy.execute("SELECT body FROM audit_ledgerentry WHERE seq = 23").fetchone()[0])
    body[10] ^= 0x01
    copy.execute("UPDATE audit_ledgerentry SET body = ? WHERE seq = 23", [bytes(body)])
    report = verify(copy)
    assert str(report.first_problem) == "seq 23: body does not hash to its stored leaf hash (the body or the hash was changed)"


def test_a_body_stored_as_text_instead_of_bytes_is_named_by_its_seq(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute("UPDATE audit_ledgerentry SET body = CAST(body AS TEXT) WHERE seq = 17")  # same characters, not the hashed bytes
    report = verify(copy)
    assert str(report.first_problem) == "seq 17: body does not hash to its stored leaf hash (the body or the hash was changed)"


def test_a_row_planted_before_seq_0_is_counted(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute(
        "INSERT INTO audit_ledgerentry (seq, event_id, body, leaf_hash) SELECT -1, event_id, body, leaf_hash FROM audit_ledgerentry WHERE seq = 3"
    )
    report = verify(copy)
    assert "51 rows for 50 sequence numbers (1 with a negative seq)" in _text(report)


def test_a_sequence_number_that_is_not_an_integer_is_reported(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute("UPDATE audit_ledgerentry SET seq = 'forty-nine' WHERE seq = 49")
    report = verify(copy)
    assert str(report.first_problem) == "a sequence number is not an integer: the ledger table was rewritten"


def test_a_deleted_middle_row_is_named_by_its_seq(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute("DELETE FROM audit_ledgerentry WHERE seq = 12")
    report = verify(copy)
    assert str(report.first_problem) == "seq 12: missing: the log has no entry 12 (it jumps from 11)"


def test_a_deleted_tail_is_caught_against_an_outside_checkpoint(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    # A careful attacker removes the tail and everything that mentions it: nodes and checkpoints.
    copy.execute("DELETE FROM audit_ledgerentry WHERE seq >= 48")
    copy.execute('DELETE FROM audit_ledgernode WHERE ("index" + 1) * (1 << level) > 48')
    copy.execute("DELETE FROM audit_checkpoint WHERE tree_size > 48")
    copy.execute("DELETE FROM audit_auditevent WHERE id NOT IN (SELECT event_id FROM audit_ledgerentry)")
    assert verify(copy).ok  # inside the database alone the shorter log is self-consistent...
    report = verify(copy, signed_log)  # ...but not against the checkpoint the auditor kept
    assert report.first_problem.seq == 48
    assert "outside checkpoint covers 50 entries" in str(report.first_problem)


def test_reordered_rows_are_caught_by_the_stored_subtree_that_covers_them(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    a = copy.execute("SELECT event_id, body, leaf_hash FROM audit_ledgerentry WHERE seq = 20").fetchone()
    b = copy.execute("SELECT event_id, body, leaf_hash FROM audit_ledgerentry WHERE seq = 21").fetchone()
    copy.execute("UPDATE audit_ledgerentry SET event_id = -1 WHERE seq = 20")
    copy.execute("UPDATE audit_ledgerentry SET event_id = ?, body = ?, leaf_hash = ? WHERE seq = 21", a)
    copy.execute("UPDATE audit_ledgerentry SET event_id = ?, body = ?, leaf_hash = ? WHERE seq = 20", b)
    report = verify(copy)
    assert str(report.first_problem).startswith("seq 16: stored subtree L4#1 over seq 16..31 does not match the leaves")
    # An attacker who also recomputes the stored subtrees is still caught by the signed checkpoint.
    _rebuild_nodes(copy)
    report = verify(copy)
    assert "stored checkpoint" in str(report.first_problem) and "first 30 entries" in str(report.first_problem)
    assert report.first_problem.seq == 0


def test_a_forged_row_is_caught(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    forged = b'{"action":"catalog.asset.delete","actor":{"id":"1","type":"user"},"details":{},"reason":"","target":{"id":"9","type":"catalog.dataasset"},"time":0,"v":1}'
    copy.execute("UPDATE audit_ledgerentry SET body = ?, leaf_hash = ? WHERE seq = 40", [forged, vc.leaf_hash(forged)])
    report = verify(copy)
    text = _text(report)
    assert "seq 32: stored subtree L4#2 over seq 32..47 does not match" in text
    assert "seq 40: the ledger body differs from the body recorded for event" in text
    # The attacker also forges the event and the subtree nodes: the signed checkpoint still fails.
    copy.execute(
        "UPDATE audit_auditevent SET body = ? WHERE id = (SELECT event_id FROM audit_ledgerentry WHERE seq = 40)", [forged]
    )
    _rebuild_nodes(copy)
    report = verify(copy)
    assert report.first_problem.seq == 30
    assert "stored checkpoint" in str(report.first_problem) and "first 50 entries" in str(report.first_problem)


def test_a_deleted_event_row_is_named_by_its_seq_even_with_a_fake_event_in_its_place(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    # The events table is what the API lists: the attacker drops one sequenced event and plants a
    # made-up one, keeping the row counts equal.
    copy.execute("DELETE FROM audit_auditevent WHERE id = (SELECT event_id FROM audit_ledgerentry WHERE seq = 9)")
    copy.execute("INSERT INTO audit_auditevent (id, body) VALUES (999999, x'7b7d')")
    text = _text(verify(copy))
    assert "is missing from the events table" in text and "seq 9:" in text
    assert "event #999999 is neither in the log nor pending" in text


def test_a_pending_entry_naming_no_event_is_reported(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute("INSERT INTO audit_pendingevent (event_id) VALUES (888888)")
    copy.execute("INSERT INTO audit_auditevent (id, body) VALUES (999999, x'7b7d')")  # counts kept equal
    text = _text(verify(copy))
    assert "1 pending entry names an event that does not exist" in text
    assert "event #999999 is neither in the log nor pending" in text


def test_a_log_rewritten_and_re_signed_with_a_new_key_is_caught(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    attacker = vc.Signer.generate(settings.CUSTOS_LEDGER_ORIGIN)
    for seq, body in copy.execute("SELECT seq, body FROM audit_ledgerentry").fetchall():
        new_body = body.replace(b'"test.event"', b'"test.other"')
        copy.execute(
            "UPDATE audit_ledgerentry SET body = ?, leaf_hash = ? WHERE seq = ?", [new_body, vc.leaf_hash(new_body), seq]
        )
        copy.execute(
            "UPDATE audit_auditevent SET body = ? WHERE id = (SELECT event_id FROM audit_ledgerentry WHERE seq = ?)",
            [new_body, seq],
        )
    _rebuild_nodes(copy)
    leaves = [h for (h,) in copy.execute("SELECT leaf_hash FROM audit_ledgerentry ORDER BY seq")]
    for row_id, size in copy.execute("SELECT id, tree_size FROM audit_checkpoint").fetchall():
        root = vc.root_from_leaves(leaves[:size])
        note = vc.sign_note(vc.Checkpoint(settings.CUSTOS_LEDGER_ORIGIN, size, root).text(), attacker)
        copy.execute("UPDATE audit_checkpoint SET note = ?, root_hash = ? WHERE id = ?", [note, root, row_id])
    report = verify(copy)
    assert not report.ok
    assert "stored checkpoint" in _text(report) and "no valid signature by a trusted key" in _text(report)
    assert "outside checkpoint does not match" in _text(verify(copy, signed_log))


def test_an_old_backup_restored_is_caught_against_an_outside_checkpoint(ledger_key, ledger_copy, verify):
    add_events(30)
    checkpoint_create()
    backup = ledger_copy("backup.sqlite3")  # the backup is taken here
    add_events(20)
    outside = checkpoint_create().note
    assert verify(backup).ok
    report = verify(backup, outside)
    assert report.first_problem.seq == 30 and "an older backup was restored" in str(report.first_problem)


def _rebuild_nodes(copy):
    """What a careful attacker does after rewriting leaves: recompute every stored subtree."""
    leaves = [h for (h,) in copy.execute("SELECT leaf_hash FROM audit_ledgerentry ORDER BY seq")]
    copy.execute("DELETE FROM audit_ledgernode")
    levels = vc.perfect_levels(leaves)
    rows = [(lv, ix, h) for lv in range(STORED_MIN_LEVEL, len(levels)) for ix, h in enumerate(levels[lv])]
    copy.executemany('INSERT INTO audit_ledgernode (level, "index", hash) VALUES (?, ?, ?)', rows)


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_a_parallel_scan_reports_the_same_as_a_serial_one(signed_log, ledger_copy, tmp_path, monkeypatch, pool):
    from audit import fast_merkle, verification

    if pool == "threads" and not fast_merkle.NATIVE:
        pytest.skip(NATIVE_MISSING)
    if pool == "processes":  # what runs without the native file reader (and on PostgreSQL)
        monkeypatch.setattr(fast_merkle, "sqlite_leaf_level", None)
    monkeypatch.setattr(verification, "CHUNK_BITS", 3)  # 50 entries -> 7 chunks, split over 2 workers
    copy = ledger_copy("parallel.sqlite3")
    connect = verification.Connector("sqlite", (("database", str(tmp_path / "parallel.sqlite3")),))
    serial = verify_ledger(copy, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN, outside_note=signed_log)
    parallel = verify_ledger(
        copy,
        verifiers=trusted_verifiers(),
        origin=settings.CUSTOS_LEDGER_ORIGIN,
        outside_note=signed_log,
        workers=2,
        connect=connect,
    )
    assert serial.ok and parallel.ok and (serial.root, serial.size) == (parallel.root, parallel.size)
    body = bytearray(copy.execute("SELECT body FROM audit_ledgerentry WHERE seq = 41").fetchone()[0])
    body[5] ^= 1
    copy.execute("UPDATE audit_ledgerentry SET body = ? WHERE seq = 41", [bytes(body)])
    copy.commit()
    report = verify_ledger(copy, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN, workers=2, connect=connect)
    assert str(report.first_problem).startswith("seq 41: body does not hash")


def test_a_removed_stored_subtree_is_named(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    copy.execute('DELETE FROM audit_ledgernode WHERE level = 4 AND "index" = 1')
    report = verify(copy)
    assert str(report.first_problem) == "seq 16: stored subtree L4#1 over seq 16..31 is missing"


def test_a_stored_subtree_beyond_the_complete_log_is_named(signed_log, ledger_copy, verify):
    copy = ledger_copy()
    # 50 entries: L4#3 would cover seq 48..63, which is not complete; a forger planted it.
    copy.execute('INSERT INTO audit_ledgernode (level, "index", hash) VALUES (4, 3, ?)', [b"\x07" * 32])
    report = verify(copy)
    assert str(report.first_problem) == "seq 48: stored subtree L4#3 lies beyond the complete part of the log"


def test_subtrees_above_chunk_level_are_checked_as_chunks_merge(signed_log, ledger_copy, monkeypatch, verify):
    from audit import verification

    monkeypatch.setattr(verification, "CHUNK_BITS", 2)  # chunks of 4: every stored subtree is above chunk level
    copy = ledger_copy()
    assert verify(copy).ok
    copy.execute('UPDATE audit_ledgernode SET hash = ? WHERE level = 5 AND "index" = 0', [b"\x07" * 32])
    report = verify(copy)
    assert str(report.first_problem).startswith("seq 0: stored subtree L5#0 over seq 0..31 does not match the leaves")
