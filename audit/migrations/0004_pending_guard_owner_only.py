"""The pending-events guard honours the maintenance setting only for the table's owner (issue 17,
item 8). Any session may ``SET custos.ledger_maintenance = on``; the app role keeps DELETE on
``audit_pendingevent`` (the sequencer dequeues), so before this it could empty the queue of events
not yet in the log. Now only a role that owns the table (or is a member of its owner, e.g. a
superuser) gets past the guard with the setting; everyone else may delete a marker only once its
event is in the log. PostgreSQL only (SQLite has no roles; its maintenance switch is a function
that only Custos's own connections have). Frozen SQL: audit/triggers.py holds the same text.
"""

from django.db import migrations

PENDING_GUARD = """
CREATE OR REPLACE FUNCTION custos_ledger_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND custos_ledger_maintenance()
        AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_ledgerentry WHERE event_id = OLD.event_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'custos ledger: % on audit_pendingevent refused (a pending event leaves the queue only once it is in the log)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""

PREVIOUS_PENDING_GUARD = """
CREATE OR REPLACE FUNCTION custos_ledger_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND custos_ledger_maintenance() THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_ledgerentry WHERE event_id = OLD.event_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'custos ledger: % on audit_pendingevent refused (a pending event leaves the queue only once it is in the log)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PENDING_GUARD, params=None)  # no params: "%" in RAISE is literal


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS_PENDING_GUARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_triggers"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
