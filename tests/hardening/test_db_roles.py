"""Two PostgreSQL roles (issue 17, item 8): after ``db_grant_app_role`` the app's role reads and
writes the app's tables but cannot update, delete, truncate or un-trigger the ledger; the
``core.W001`` check warns when the app connects as the tables' owner (or a superuser)."""

from __future__ import annotations

import os
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from core.dbroles import owned_tables

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def app_role(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("database roles are a PostgreSQL setup; runs in the PostgreSQL pass")
    role = f"custos_app_t{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


def connect_as(role: str):
    params = connection.get_connection_params()
    return psycopg.connect(
        host=params.get("host") or "127.0.0.1", port=params.get("port") or 5432, dbname=params["dbname"], user=role
    )


def test_the_app_role_appends_to_the_ledger_but_cannot_rewrite_it(app_role):
    call_command("db_grant_app_role", app_role, stdout=StringIO())
    with connect_as(app_role) as conn, conn.cursor() as cursor:
        privilege = "SELECT has_table_privilege(current_user, %s, %s)"
        for table in ("audit_auditevent", "audit_ledgerentry", "audit_ledgernode", "audit_checkpoint"):
            for allowed in ("SELECT", "INSERT"):
                cursor.execute(privilege, [table, allowed])
                assert cursor.fetchone()[0], (table, allowed)
            for refused in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
                cursor.execute(privilege, [table, refused])
                assert not cursor.fetchone()[0], (table, refused)
        cursor.execute(privilege, ["audit_pendingevent", "DELETE"])
        assert cursor.fetchone()[0]  # the sequencer dequeues
        cursor.execute(privilege, ["catalog_dataasset", "UPDATE"])
        assert cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("TRUNCATE audit_ledgerentry")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # only the owner may drop a trigger
            cursor.execute("DROP TRIGGER audit_ledgerentry_no_truncate ON audit_ledgerentry")
        conn.rollback()
        assert owned_tables(cursor)[1:] == (False, [])  # nothing for core.W001 to warn about


def test_check_warns_in_production_when_the_app_role_owns_the_ledger(app_role, settings):
    from core.checks import check_app_role_does_not_own_the_ledger

    settings.CUSTOS_ENV = "production"
    warnings = check_app_role_does_not_own_the_ledger()  # the tests connect as the owner (a superuser)
    assert [w.id for w in warnings] == ["core.W001"]
    assert "append-only triggers" in warnings[0].msg and "db_grant_app_role" in warnings[0].hint
    settings.CUSTOS_ENV = "test"
    assert check_app_role_does_not_own_the_ledger() == []
