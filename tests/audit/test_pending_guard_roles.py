"""The pending-events guard ignores the maintenance setting for non-owner roles (issue 17, item 8):
the app role may dequeue a sequenced event's marker, but setting ``custos.ledger_maintenance``
does not let it drop the marker of an event that is not in the log yet; the owner's flush still
empties the queue."""

from __future__ import annotations

import os
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import PendingEvent
from tests.audit.conftest import add_events
from tests.hardening.test_db_roles import connect_as  # one way to connect as a role for the role tests

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def app_role(transactional_db, settings):
    settings.CUSTOS_LEDGER_SEQUENCE_ON_COMMIT = False  # the events below stay pending until sequenced here
    if connection.vendor != "postgresql":
        pytest.skip("database roles are a PostgreSQL setup; runs in the PostgreSQL pass")
    role = f"custos_app_p{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    call_command("db_grant_app_role", role, stdout=StringIO())
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


def test_the_app_role_cannot_drop_an_unsequenced_marker_even_in_maintenance_mode(app_role):
    waiting = add_events(2, sequence=False)
    with connect_as(app_role) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT set_config('custos.ledger_maintenance', 'on', false)")
        cursor.execute("SELECT custos_ledger_maintenance()")
        assert cursor.fetchone()[0] is True  # the setting is on for this session ...
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="only once it is in the log"):
            cursor.execute("DELETE FROM audit_pendingevent WHERE event_id = %s", [waiting[0].pk])
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # ... and TRUNCATE is not granted at all
            cursor.execute("TRUNCATE audit_pendingevent")
        conn.rollback()
    assert PendingEvent.objects.filter(event_id__in=[e.pk for e in waiting]).count() == 2


def test_the_app_role_still_dequeues_a_sequenced_marker(app_role):
    from audit.sequencer import current_size, sequence_batch

    waiting = add_events(1, sequence=False)
    # Sequence as the owner but leave the marker: the app role's sequencer would delete it itself.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_ledgerentry (seq, event_id, body, leaf_hash) SELECT %s, id, body, leaf_hash FROM audit_auditevent WHERE id = %s",
            [current_size(), waiting[0].pk],
        )
    with connect_as(app_role) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM audit_pendingevent WHERE event_id = %s", [waiting[0].pk])
        assert cursor.rowcount == 1
    assert not PendingEvent.objects.exists()
    assert sequence_batch(batch_size=10) == 0


def test_the_owner_still_flushes_the_queue_in_maintenance_mode(app_role):
    add_events(3, sequence=False)
    call_command("flush", interactive=False, verbosity=0)
    assert not PendingEvent.objects.exists()
