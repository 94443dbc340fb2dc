"""The database refuses every rewrite of the ledger (the second CI pass runs this on PostgreSQL):
UPDATE, DELETE, TRUNCATE, upsert and gapped inserts on every ledger table. The start-up check
notices missing triggers, and maintenance mode (flush only) is off by default."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import checks
from audit.maintenance import ledger_maintenance
from audit.models import AuditEvent, LedgerEntry
from audit.services import checkpoint_create
from tests.audit.conftest import add_events

pytestmark = pytest.mark.django_db

TABLES = ["audit_auditevent", "audit_ledgerentry", "audit_ledgernode", "audit_checkpoint", "audit_pendingevent"]


@pytest.fixture
def ledger(ledger_key):
    add_events(20)
    checkpoint_create()
    add_events(1, sequence=False)  # one pending event too
    if connection.vendor == "postgresql":  # run the deferred FK checks now, or TRUNCATE refuses for that reason
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _sqlite_upserts():
    return {
        "audit_auditevent": "INSERT OR REPLACE INTO audit_auditevent SELECT * FROM audit_auditevent WHERE id = (SELECT MIN(id) FROM audit_auditevent)",
        "audit_ledgerentry": "INSERT OR REPLACE INTO audit_ledgerentry SELECT * FROM audit_ledgerentry WHERE seq = 3",
        "audit_ledgernode": "INSERT OR REPLACE INTO audit_ledgernode SELECT * FROM audit_ledgernode LIMIT 1",
        "audit_checkpoint": "INSERT OR REPLACE INTO audit_checkpoint SELECT * FROM audit_checkpoint LIMIT 1",
    }


def _pg_upserts():
    return {
        "audit_auditevent": "INSERT INTO audit_auditevent SELECT * FROM audit_auditevent ORDER BY id LIMIT 1 "
        "ON CONFLICT (id) DO UPDATE SET reason = 'rewritten'",
        "audit_ledgerentry": "INSERT INTO audit_ledgerentry SELECT * FROM audit_ledgerentry WHERE seq = 3 "
        "ON CONFLICT (seq) DO UPDATE SET body = EXCLUDED.body",
        "audit_ledgernode": "INSERT INTO audit_ledgernode SELECT * FROM audit_ledgernode LIMIT 1 "
        "ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash",
        "audit_checkpoint": "INSERT INTO audit_checkpoint SELECT * FROM audit_checkpoint LIMIT 1 "
        "ON CONFLICT (id) DO UPDATE SET note = 'x'",
    }


def _statements():
    first_column = {
        "audit_auditevent": "reason = 'rewritten'",
        "audit_ledgerentry": "leaf_hash = leaf_hash",
        "audit_ledgernode": "hash = hash",
        "audit_checkpoint": "note = note",
        "audit_pendingevent": "event_id = event_id",
    }
    out = []
    for table in TABLES:
        out.append((f"update {table}", f"UPDATE {table} SET {first_column[table]}"))
        out.append((f"delete {table}", f"DELETE FROM {table}"))
        if connection.vendor == "postgresql":
            out.append((f"truncate {table}", f"TRUNCATE {table} CASCADE"))
    upserts = _sqlite_upserts() if connection.vendor == "sqlite" else _pg_upserts()
    out += [(f"upsert {table}", sql) for table, sql in upserts.items()]
    next_seq = LedgerEntry.objects.count()
    event = AuditEvent.objects.filter(entry__isnull=True).first()
    for label, seq in (("gapped insert", next_seq + 1), ("duplicate seq", 5), ("negative seq", -1)):
        out.append(
            (
                label,
                f"INSERT INTO audit_ledgerentry (seq, event_id, body, leaf_hash) "
                f"SELECT {seq}, id, body, leaf_hash FROM audit_auditevent WHERE id = {event.pk}",
            )
        )
    return out


def test_every_rewrite_of_the_ledger_is_refused_by_the_database(ledger):
    before = {table: _count(table) for table in TABLES}
    allowed = []
    for label, sql in _statements():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
        except DatabaseError as exc:
            assert "custos ledger" in str(exc) or label == "negative seq", (label, str(exc))
        else:
            allowed.append(label)
    assert allowed == []
    assert {table: _count(table) for table in TABLES} == before


def test_the_next_sequence_number_is_accepted_so_the_guard_is_not_a_blanket_refusal(ledger):
    event = AuditEvent.objects.filter(entry__isnull=True).get()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_ledgerentry (seq, event_id, body, leaf_hash) SELECT %s, id, body, leaf_hash FROM audit_auditevent WHERE id = %s",
            [LedgerEntry.objects.count(), event.pk],
        )
    assert AuditEvent.objects.get(pk=event.pk).seq == 20


def _count(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


def test_maintenance_mode_is_off_unless_flush_turns_it_on(ledger):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(entry__isnull=True).delete()
    with ledger_maintenance(purpose="test"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_pendingevent")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_checkpoint")


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_ledger_in_maintenance_mode_only(ledger_key):
    add_events(18)
    checkpoint_create()
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_ledgerentry")
    call_command("flush", interactive=False, verbosity=0)
    assert _count("audit_ledgerentry") == _count("audit_auditevent") == _count("audit_ledgernode") == 0
    with pytest.raises(DatabaseError), connection.cursor() as cursor:  # and it is off again
        add_events(1)
        cursor.execute("DELETE FROM audit_ledgerentry")


def test_the_start_up_check_fails_loudly_when_a_trigger_is_missing(ledger):
    assert checks.check_ledger_triggers() == []
    with connection.cursor() as cursor:  # DDL: rolled back with the test
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_ledgerentry_next_seq")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("DROP TRIGGER audit_ledgerentry_next_seq ON audit_ledgerentry")
    errors = checks.check_ledger_triggers()
    assert [e.id for e in errors] == ["audit.E001"] and "audit_ledgerentry_next_seq" in errors[0].msg
    checks._verified.clear()
    with pytest.raises(checks.LedgerUnguarded):
        checks.ensure_triggers()
