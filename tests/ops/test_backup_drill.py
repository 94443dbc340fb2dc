"""Backup and restore drill (issue 17, PostgreSQL pass): ``pg_dump`` the database, restore it into a
new database, and ``audit_verify`` the restored ledger against a signed checkpoint exported (kept
outside the database) *before* the backup. A backup older than that checkpoint is caught: its log
ends before the checkpoint's size. The recipe is docs/operations.md, "Backup and restore drill".
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from django.db import transaction

from audit.models import LedgerEntry
from audit.sequencer import sequence_pending
from audit.services import checkpoint_create, record
from catalog.models import DataAsset
from tests.factories import AssetFactory
from tests.ops.conftest import admin_sql, manage, pg_env, pg_url, require_postgres

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads what is committed


def add_events(n: int, start: int) -> None:
    with transaction.atomic():
        for i in range(start, start + n):
            record(actor="drill", action="test.drill", target_type="tests.thing", target_id=i, details={"i": i})
    sequence_pending()


@pytest.fixture
def ledger_key(tmp_path, settings):
    from audit import keys

    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "ledger.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "ledger.key.trusted")
    keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
    # the key files are backed up separately (never in the database); the restored side reads them
    return {
        "CUSTOS_LEDGER_KEY_FILE": settings.CUSTOS_LEDGER_KEY_FILE,
        "CUSTOS_LEDGER_TRUSTED_KEYS_FILE": settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE,
    }


@pytest.fixture
def restore_database():
    """``restore(dump_file) -> url``: a new database on the same server holding the dump; dropped after."""
    made: list[str] = []

    def restore(dump) -> str:
        name = f"drill_restore_{uuid.uuid4().hex[:10]}"
        admin_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name, str(dump)],
            env=pg_env(name),
            check=True,
            capture_output=True,
            timeout=300,
        )
        return pg_url(name)

    yield restore
    for name in made:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_dump(path) -> None:
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(path)], env=pg_env(), check=True, capture_output=True, timeout=300
    )


def test_a_restored_backup_verifies_against_a_checkpoint_exported_before_it(tmp_path, ledger_key, restore_database):
    require_postgres()
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("needs the PostgreSQL client tools pg_dump and pg_restore (apt-get install postgresql-client)")
    assets = [AssetFactory() for _ in range(3)]
    add_events(40, 0)
    pg_dump(tmp_path / "stale.dump")  # an older backup: taken before the checkpoint below
    add_events(25, 40)

    # the auditor's copy of a signed checkpoint, kept outside the database
    checkpoint = checkpoint_create(actor="drill")
    note = tmp_path / "checkpoint.txt"
    note.write_text(checkpoint.note, encoding="utf-8")
    add_events(15, 65)  # the log grows after the checkpoint, before the backup
    size = LedgerEntry.objects.count()
    assert size > checkpoint.tree_size

    pg_dump(tmp_path / "backup.dump")
    restored = restore_database(tmp_path / "backup.dump")
    verified = manage("audit_verify", "--checkpoint", str(note), "--workers", "2", database_url=restored, env=ledger_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.split()[:2] == ["OK", str(size)]
    live = manage("audit_verify", "--checkpoint", str(note), "--workers", "1", database_url=pg_url(), env=ledger_key)
    assert live.stdout.strip() == verified.stdout.strip()  # same size, same root as the live ledger

    # the restored catalog is the live one (not only the ledger)
    counted = manage(
        "shell",
        "--no-imports",
        "-c",
        "from catalog.models import DataAsset; print(DataAsset.objects.count())",
        database_url=restored,
    )
    assert counted.returncode == 0 and int(counted.stdout.strip()) == DataAsset.objects.count() == len(assets)

    # a backup older than the exported checkpoint is detected, not silently accepted
    stale = restore_database(tmp_path / "stale.dump")
    refused = manage("audit_verify", "--checkpoint", str(note), "--workers", "1", database_url=stale, env=ledger_key)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.startswith("FAIL ") and f"covers {checkpoint.tree_size}" in refused.stdout, refused.stdout
