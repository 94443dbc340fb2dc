"""Ledger test helpers: a signing key in a temporary directory, events on demand, and a copy of
the ledger tables in a separate SQLite file for tampering (the same on both database passes)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit import fast_merkle, keys, triggers, verification
from audit.sequencer import sequence_pending
from audit.services import record

NATIVE_MISSING = "audit._merkle is not built (make install builds it; it needs a C compiler, libssl-dev and libsqlite3-dev)"

COPY_SCHEMA = [
    "CREATE TABLE audit_auditevent (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
    "CREATE TABLE audit_pendingevent (event_id INTEGER PRIMARY KEY)",
    # seq as Django declares it (bigint, not a rowid alias): so it can hold what an attacker writes.
    "CREATE TABLE audit_ledgerentry (seq bigint NOT NULL PRIMARY KEY, event_id INTEGER NOT NULL, body BLOB NOT NULL, leaf_hash BLOB NOT NULL)",
    'CREATE TABLE audit_ledgernode (id INTEGER PRIMARY KEY, level INTEGER NOT NULL, "index" INTEGER NOT NULL, hash BLOB NOT NULL)',
    "CREATE TABLE audit_checkpoint (id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL, note TEXT NOT NULL)",
]
COPY_COLUMNS = {
    "audit_auditevent": "id, body",
    "audit_pendingevent": "event_id",
    "audit_ledgerentry": "seq, event_id, body, leaf_hash",
    "audit_ledgernode": 'id, level, "index", hash',
    "audit_checkpoint": "id, tree_size, root_hash, note",
}


@pytest.fixture
def ledger_key(tmp_path, settings):
    """A fresh signing key under tmp_path, configured as the ledger key."""
    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "ledger.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "ledger.key.trusted")
    signer, _ = keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
    return signer


def add_events(n: int, *, action: str = "test.event", sequence: bool = True) -> list:
    """Record ``n`` events (one transaction) and, by default, sequence them."""
    with transaction.atomic():
        events = [
            record(actor="tests", action=action, target_type="tests.thing", target_id=i, details={"i": i}) for i in range(n)
        ]
    if sequence:
        sequence_pending()
    return events


@pytest.fixture
def events():
    return add_events


def copy_ledger(path) -> sqlite3.Connection:
    """The ledger tables as they are now (this test's transaction included), in a new SQLite file
    without any trigger: the attacker's copy of the database."""
    target = sqlite3.connect(path)
    for statement in COPY_SCHEMA:
        target.execute(statement)
    with connection.cursor() as cursor:
        for table, columns in COPY_COLUMNS.items():
            cursor.execute(f"SELECT {columns} FROM {table}")
            rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()]
            marks = ", ".join("?" for _ in columns.split(","))
            target.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    target.commit()
    return target


@pytest.fixture
def ledger_copy(tmp_path):
    def make(name: str = "copy.sqlite3") -> sqlite3.Connection:
        return copy_ledger(tmp_path / name)

    return make


@contextmanager
def triggers_off():
    """Run the block as a database owner who bypasses the ledger triggers (to tamper in tests).

    SQLite: drop and re-create them (DDL is transactional, so the test's rollback also restores
    them). PostgreSQL: ``session_replication_role = replica``, which skips user triggers.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in triggers.sqlite_triggers():
                cursor.execute(f"DROP TRIGGER {name}")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "sqlite":
                for statement in triggers.sqlite_triggers().values():
                    cursor.execute(statement)
            else:
                cursor.execute("SET LOCAL session_replication_role = origin")


def use_pure_python_merkle(monkeypatch) -> None:
    """Make the verifier hash with fast_merkle's pure-Python functions for this test (what a
    clone without the native module runs)."""
    monkeypatch.setattr(fast_merkle, "leaf_level", fast_merkle.py_leaf_level)
    monkeypatch.setattr(fast_merkle, "node_level", fast_merkle.py_node_level)
    monkeypatch.setattr(fast_merkle, "sqlite_leaf_level", None)


@pytest.fixture(params=["python", "native", "native-file"])
def verify(request, monkeypatch):
    """``verify(copy, outside_note=None)``: verify_ledger over an attacker's copy, through one of
    the verifier's hashing paths: pure Python; the native module on rows read through sqlite3;
    the native module reading the SQLite file itself, in two worker threads over chunks of 32."""
    path = request.param
    if path == "python":
        use_pure_python_merkle(monkeypatch)
    elif not fast_merkle.NATIVE:
        pytest.skip(NATIVE_MISSING)
    if path == "native-file":
        monkeypatch.setattr(verification, "CHUNK_BITS", 5)

    def run(copy: sqlite3.Connection, outside_note: str | None = None) -> verification.VerifyReport:
        options = {}
        if path == "native-file":
            copy.commit()  # the native reader and the cross-check read the file, not this connection
            file = copy.execute("PRAGMA database_list").fetchone()[2]
            options = {"workers": 2, "connect": verification.Connector("sqlite", (("database", file),))}
        return verification.verify_ledger(
            copy,
            verifiers=keys.trusted_verifiers(),
            origin=settings.CUSTOS_LEDGER_ORIGIN,
            outside_note=outside_note,
            **options,
        )

    return run
