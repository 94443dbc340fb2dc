"""Signed checkpoints, key generation and rotation, and the audit_* commands."""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from audit import keys, selectors
from audit import verify_core as vc
from audit.models import AuditEvent, Checkpoint
from audit.services import CheckpointRefused, checkpoint_create
from tests.audit.conftest import add_events, triggers_off

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_it_signs_a_c2sp_checkpoint_of_the_current_log(ledger_key, settings):
    add_events(21)
    checkpoint = checkpoint_create()
    origin, size, root_b64, blank, signature, end = checkpoint.note.split("\n")
    assert (origin, size, blank, end) == (settings.CUSTOS_LEDGER_ORIGIN, "21", "", "")
    assert base64.b64decode(root_b64) == selectors.ledger_root(21) == bytes(checkpoint.root_hash)
    assert signature.startswith(f"\u2014 {settings.CUSTOS_LEDGER_ORIGIN} ")
    parsed, verifier = vc.open_checkpoint(checkpoint.note, [ledger_key.verifier], origin=settings.CUSTOS_LEDGER_ORIGIN)
    assert parsed.size == 21 and verifier == ledger_key.verifier
    assert checkpoint_create() == checkpoint  # nothing new: no second checkpoint


def test_it_never_signs_a_root_inconsistent_with_the_previous_checkpoint(ledger_key):
    add_events(10)
    checkpoint_create()
    add_events(5)
    with triggers_off() as cursor:  # an attacker (or a bug) rewrites history
        cursor.execute("UPDATE audit_ledgerentry SET leaf_hash = %s WHERE seq = 3", [b"\x00" * 32])
    with pytest.raises(CheckpointRefused, match="not consistent"):
        checkpoint_create()
    assert Checkpoint.objects.count() == 1


def test_it_refuses_to_extend_a_checkpoint_it_cannot_verify(ledger_key, tmp_path, settings):
    add_events(4)
    checkpoint_create()
    add_events(4)
    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "other.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "other.key.trusted")
    keys.generate_key()  # a new key whose predecessor was never registered as trusted
    with pytest.raises(CheckpointRefused, match="does not verify"):
        checkpoint_create()


def test_key_rotation_keeps_old_checkpoints_verifiable_and_is_audited(ledger_key, settings):
    add_events(3)
    first = checkpoint_create()
    code, out = _run("audit_keygen", "--force")
    assert code == 0 and "retired key kept as trusted" in out
    new_signer = keys.load_signer()
    assert new_signer.verifier != ledger_key.verifier
    add_events(2)
    second = checkpoint_create()
    assert second.key_id == new_signer.verifier.key_id.hex() != first.key_id
    assert AuditEvent.objects.filter(action="audit.key.rotate", details__from_key_id=first.key_id).exists()
    code, out = _run("audit_verify")
    assert code == 0 and out.startswith("OK 6 ")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = None  # forget the old key: its checkpoint no longer verifies
    code, out = _run("audit_verify")
    assert code == 1 and "size 3" in out and "trusted key" in out


def test_keygen_is_a_no_op_when_the_key_exists(ledger_key, settings):
    code, out = _run("audit_keygen")
    assert code == 0 and "already exists" in out
    assert keys.load_signer() == ledger_key


def test_keygen_writes_a_private_key_file_with_owner_only_access(tmp_path):
    code, out = _run("audit_keygen", "--out", str(tmp_path / "k"))
    assert code == 0
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    vc.parse_skey((tmp_path / "k").read_text())


def test_audit_verify_prints_ok_size_and_root(ledger_key):
    add_events(17)
    checkpoint_create()
    code, out = _run("audit_verify")
    assert (code, out.strip()) == (0, f"OK 17 {vc.b64(selectors.ledger_root(17))}")


def test_audit_verify_names_the_first_bad_seq(ledger_key):
    add_events(40)
    checkpoint_create()
    with triggers_off() as cursor:
        cursor.execute("UPDATE audit_ledgerentry SET body = %s WHERE seq = 33", [b'{"forged":true}'])
    code, out = _run("audit_verify")
    assert code == 1
    assert out.startswith("FAIL seq 33: body does not hash to its stored leaf hash")


def test_audit_verify_checks_an_outside_checkpoint(ledger_key, tmp_path):
    add_events(5)
    outside = tmp_path / "checkpoint.txt"
    code, note = _run("audit_checkpoint")
    assert code == 0 and note.split("\n")[1] == "5"
    outside.write_text(note)
    add_events(3)
    code, out = _run("audit_verify", "--checkpoint", str(outside))
    assert code == 0 and out.startswith("OK 8 ")
    other = vc.sign_note(vc.Checkpoint("custos.local/ledger", 5, b"\x01" * 32).text(), ledger_key)
    outside.write_text(other)
    code, out = _run("audit_verify", "--checkpoint", str(outside))
    assert code == 1 and "outside checkpoint does not match the log's first 5 entries" in out


def test_audit_export_writes_the_exact_hashed_bytes(ledger_key, tmp_path):
    add_events(6)
    out = tmp_path / "export.jsonl"
    assert _run("audit_export", "--out", str(out), "--from-seq", "2", "--to-seq", "4")[0] == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [2, 3, 4]
    for line in lines:
        assert set(line) == {"seq", "body", "leaf_hash"}
        assert vc.leaf_hash(base64.b64decode(line["body"])) == base64.b64decode(line["leaf_hash"])
    assert AuditEvent.objects.filter(action="audit.ledger.export", details__count=3).exists()


def test_the_beat_schedule_runs_the_ledger_tasks(ledger_key, settings):
    from audit import tasks

    tasks_by_name = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.tasks.ledger_sequence", "audit.tasks.ledger_checkpoint"} <= tasks_by_name
    with transaction.atomic():
        add_events(4, sequence=False)
    # apply(): run here in both passes (the worker pass has no result backend, and a queued task
    # would run later against another test's data).
    assert tasks.ledger_sequence.apply().get() == 4
    assert tasks.ledger_checkpoint.apply().get() == 4


def test_audit_verify_refuses_zero_workers(ledger_key):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("audit_verify", "--workers", "0", stdout=StringIO())


def test_audit_verify_says_on_stderr_when_it_hashes_in_pure_python(ledger_key, monkeypatch):
    from audit import fast_merkle
    from tests.audit.conftest import use_pure_python_merkle

    add_events(5)
    use_pure_python_merkle(monkeypatch)
    monkeypatch.setattr(fast_merkle, "NATIVE", False)
    out, err = StringIO(), StringIO()
    call_command("audit_verify", stdout=out, stderr=err)
    assert out.getvalue().startswith("OK 5 ")  # the stdout contract is untouched
    assert "hashing in pure Python" in err.getvalue()
