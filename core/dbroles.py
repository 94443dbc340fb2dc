"""Two PostgreSQL roles (issue 17, item 8): an owner that runs migrations and owns the tables, and
the application's role, which may read and write the app's tables but only read and append the
audit ledger (no UPDATE, DELETE or TRUNCATE there; the sequencer may DELETE from its queue).

An owner can ``DROP TRIGGER`` and truncate the ledger whatever the triggers say: if the web and
worker processes connect as the owner, one SQL injection can rewrite history undetected until the
next checkpoint comparison. ``app_role_grants`` gives the statements docs/ledger.md ("Role
separation") and docs/operations.md list (``manage.py db_grant_app_role ROLE`` runs them as the
owner, after every ``migrate``); ``owned_tables`` is what the ``core.W001`` check looks at.
"""

from __future__ import annotations

from django.apps import apps
from psycopg import sql


def ledger_tables() -> tuple[tuple[str, ...], str]:
    """(append-only ledger tables, the sequencer's queue table) -- audit's own names."""
    from audit.triggers import LEDGER_TABLES, QUEUE_TABLE  # the ledger is audit's; core only grants on it

    return tuple(LEDGER_TABLES), QUEUE_TABLE


def app_tables() -> list[str]:
    """Every table of an installed model (managed, not proxy), sorted."""
    return sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy})


def app_role_grants(role: str, schema: str = "public") -> list[sql.Composed]:
    ledger, queue = ledger_tables()
    r, s = sql.Identifier(role), sql.Identifier(schema)
    ledger_list = sql.SQL(", ").join(sql.Identifier(schema, t) for t in ledger)
    return [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(ledger_list, r),
        sql.SQL("REVOKE UPDATE, TRUNCATE ON {} FROM {}").format(sql.Identifier(schema, queue), r),
        sql.SQL("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {} FROM {}").format(s, r),
    ]


def owned_tables(cursor) -> tuple[str, bool, list[str]]:
    """(current role, is it a superuser, the ledger tables it owns) on the cursor's connection."""
    ledger, queue = ledger_tables()
    cursor.execute("SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
    user, superuser = cursor.fetchone()
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE tableowner = current_user AND tablename = ANY(%s) ORDER BY tablename",
        [[*ledger, queue]],
    )
    return user, bool(superuser), [row[0] for row in cursor.fetchall()]
