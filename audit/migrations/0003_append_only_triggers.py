"""Append-only triggers on the ledger tables, per database vendor (audit/triggers.py explains
them; this migration holds a frozen copy of the SQL, as migrations must not change after landing).

Raw SQL on purpose: Django has no trigger API. Other vendors: a no-op (Custos supports SQLite and
PostgreSQL only). The start-up check ``audit.E001`` verifies the triggers exist.
"""

from django.db import migrations

SQLITE_TRIGGERS = [
    (
        "audit_auditevent_no_update",
        "CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent BEGIN SELECT RAISE(ABORT, 'custos ledger: UPDATE on audit_auditevent refused (append-only)'); END",
    ),
    (
        "audit_auditevent_no_delete",
        "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent WHEN custos_ledger_maintenance() = 0 BEGIN SELECT RAISE(ABORT, 'custos ledger: DELETE on audit_auditevent refused (append-only)'); END",
    ),
    (
        "audit_auditevent_no_replace",
        'CREATE TRIGGER audit_auditevent_no_replace BEFORE INSERT ON audit_auditevent WHEN EXISTS (SELECT 1 FROM audit_auditevent WHERE "id" = NEW."id") BEGIN SELECT RAISE(ABORT, \'custos ledger: INSERT over an existing row of audit_auditevent refused (append-only)\'); END',
    ),
    (
        "audit_ledgerentry_no_update",
        "CREATE TRIGGER audit_ledgerentry_no_update BEFORE UPDATE ON audit_ledgerentry BEGIN SELECT RAISE(ABORT, 'custos ledger: UPDATE on audit_ledgerentry refused (append-only)'); END",
    ),
    (
        "audit_ledgerentry_no_delete",
        "CREATE TRIGGER audit_ledgerentry_no_delete BEFORE DELETE ON audit_ledgerentry WHEN custos_ledger_maintenance() = 0 BEGIN SELECT RAISE(ABORT, 'custos ledger: DELETE on audit_ledgerentry refused (append-only)'); END",
    ),
    (
        "audit_ledgerentry_no_replace",
        'CREATE TRIGGER audit_ledgerentry_no_replace BEFORE INSERT ON audit_ledgerentry WHEN EXISTS (SELECT 1 FROM audit_ledgerentry WHERE "seq" = NEW."seq") OR EXISTS (SELECT 1 FROM audit_ledgerentry WHERE "event_id" = NEW."event_id") BEGIN SELECT RAISE(ABORT, \'custos ledger: INSERT over an existing row of audit_ledgerentry refused (append-only)\'); END',
    ),
    (
        "audit_ledgernode_no_update",
        "CREATE TRIGGER audit_ledgernode_no_update BEFORE UPDATE ON audit_ledgernode BEGIN SELECT RAISE(ABORT, 'custos ledger: UPDATE on audit_ledgernode refused (append-only)'); END",
    ),
    (
        "audit_ledgernode_no_delete",
        "CREATE TRIGGER audit_ledgernode_no_delete BEFORE DELETE ON audit_ledgernode WHEN custos_ledger_maintenance() = 0 BEGIN SELECT RAISE(ABORT, 'custos ledger: DELETE on audit_ledgernode refused (append-only)'); END",
    ),
    (
        "audit_ledgernode_no_replace",
        'CREATE TRIGGER audit_ledgernode_no_replace BEFORE INSERT ON audit_ledgernode WHEN EXISTS (SELECT 1 FROM audit_ledgernode WHERE "id" = NEW."id") OR EXISTS (SELECT 1 FROM audit_ledgernode WHERE "level" = NEW."level" AND "index" = NEW."index") BEGIN SELECT RAISE(ABORT, \'custos ledger: INSERT over an existing row of audit_ledgernode refused (append-only)\'); END',
    ),
    (
        "audit_checkpoint_no_update",
        "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint BEGIN SELECT RAISE(ABORT, 'custos ledger: UPDATE on audit_checkpoint refused (append-only)'); END",
    ),
    (
        "audit_checkpoint_no_delete",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint WHEN custos_ledger_maintenance() = 0 BEGIN SELECT RAISE(ABORT, 'custos ledger: DELETE on audit_checkpoint refused (append-only)'); END",
    ),
    (
        "audit_checkpoint_no_replace",
        'CREATE TRIGGER audit_checkpoint_no_replace BEFORE INSERT ON audit_checkpoint WHEN EXISTS (SELECT 1 FROM audit_checkpoint WHERE "id" = NEW."id") OR EXISTS (SELECT 1 FROM audit_checkpoint WHERE "tree_size" = NEW."tree_size") BEGIN SELECT RAISE(ABORT, \'custos ledger: INSERT over an existing row of audit_checkpoint refused (append-only)\'); END',
    ),
    (
        "audit_ledgerentry_next_seq",
        "CREATE TRIGGER audit_ledgerentry_next_seq BEFORE INSERT ON audit_ledgerentry WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_ledgerentry) BEGIN SELECT RAISE(ABORT, 'custos ledger: insert is not the next sequence number'); END",
    ),
    (
        "audit_pendingevent_no_update",
        "CREATE TRIGGER audit_pendingevent_no_update BEFORE UPDATE ON audit_pendingevent BEGIN SELECT RAISE(ABORT, 'custos ledger: UPDATE on audit_pendingevent refused'); END",
    ),
    (
        "audit_pendingevent_only_sequenced",
        "CREATE TRIGGER audit_pendingevent_only_sequenced BEFORE DELETE ON audit_pendingevent WHEN custos_ledger_maintenance() = 0 AND NOT EXISTS (SELECT 1 FROM audit_ledgerentry WHERE event_id = OLD.event_id) BEGIN SELECT RAISE(ABORT, 'custos ledger: a pending event leaves the queue only once it is in the log'); END",
    ),
]

PG_FUNCTIONS = "\nCREATE OR REPLACE FUNCTION custos_ledger_maintenance() RETURNS boolean LANGUAGE sql STABLE AS $$\n    SELECT coalesce(current_setting('custos.ledger_maintenance', true), '') = 'on'\n$$;\n\nCREATE OR REPLACE FUNCTION custos_ledger_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP IN ('DELETE', 'TRUNCATE') AND custos_ledger_maintenance() THEN\n        RETURN OLD;\n    END IF;\n    RAISE EXCEPTION 'custos ledger: % on % refused (append-only)', TG_OP, TG_TABLE_NAME\n        USING ERRCODE = 'integrity_constraint_violation';\nEND;\n$$;\n\nCREATE OR REPLACE FUNCTION custos_ledger_next_seq() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF NEW.seq IS DISTINCT FROM (SELECT coalesce(max(seq), -1) + 1 FROM audit_ledgerentry) THEN\n        RAISE EXCEPTION 'custos ledger: insert is not the next sequence number'\n            USING ERRCODE = 'integrity_constraint_violation';\n    END IF;\n    RETURN NEW;\nEND;\n$$;\n\nCREATE OR REPLACE FUNCTION custos_ledger_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP IN ('DELETE', 'TRUNCATE') AND custos_ledger_maintenance() THEN\n        RETURN OLD;\n    END IF;\n    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_ledgerentry WHERE event_id = OLD.event_id) THEN\n        RETURN OLD;\n    END IF;\n    RAISE EXCEPTION 'custos ledger: % on audit_pendingevent refused (a pending event leaves the queue only once it is in the log)', TG_OP\n        USING ERRCODE = 'integrity_constraint_violation';\nEND;\n$$;\n"

PG_TRIGGERS = [
    (
        "audit_auditevent_no_change",
        "CREATE TRIGGER audit_auditevent_no_change BEFORE UPDATE OR DELETE ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_auditevent_no_truncate",
        "CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_ledgerentry_no_change",
        "CREATE TRIGGER audit_ledgerentry_no_change BEFORE UPDATE OR DELETE ON audit_ledgerentry FOR EACH ROW EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_ledgerentry_no_truncate",
        "CREATE TRIGGER audit_ledgerentry_no_truncate BEFORE TRUNCATE ON audit_ledgerentry FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_ledgernode_no_change",
        "CREATE TRIGGER audit_ledgernode_no_change BEFORE UPDATE OR DELETE ON audit_ledgernode FOR EACH ROW EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_ledgernode_no_truncate",
        "CREATE TRIGGER audit_ledgernode_no_truncate BEFORE TRUNCATE ON audit_ledgernode FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_checkpoint_no_change",
        "CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_checkpoint_no_truncate",
        "CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_guard()",
    ),
    (
        "audit_ledgerentry_next_seq",
        "CREATE TRIGGER audit_ledgerentry_next_seq BEFORE INSERT ON audit_ledgerentry FOR EACH ROW EXECUTE FUNCTION custos_ledger_next_seq()",
    ),
    (
        "audit_pendingevent_guard",
        "CREATE TRIGGER audit_pendingevent_guard BEFORE UPDATE OR DELETE ON audit_pendingevent FOR EACH ROW EXECUTE FUNCTION custos_ledger_pending_guard()",
    ),
    (
        "audit_pendingevent_no_truncate",
        "CREATE TRIGGER audit_pendingevent_no_truncate BEFORE TRUNCATE ON audit_pendingevent FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_pending_guard()",
    ),
]

PG_TRIGGER_TABLES = {
    "audit_auditevent_no_change": "audit_auditevent",
    "audit_auditevent_no_truncate": "audit_auditevent",
    "audit_ledgerentry_no_change": "audit_ledgerentry",
    "audit_ledgerentry_no_truncate": "audit_ledgerentry",
    "audit_ledgernode_no_change": "audit_ledgernode",
    "audit_ledgernode_no_truncate": "audit_ledgernode",
    "audit_checkpoint_no_change": "audit_checkpoint",
    "audit_checkpoint_no_truncate": "audit_checkpoint",
    "audit_ledgerentry_next_seq": "audit_ledgerentry",
    "audit_pendingevent_guard": "audit_pendingevent",
    "audit_pendingevent_no_truncate": "audit_pendingevent",
}


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for _name, statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        schema_editor.execute(PG_FUNCTIONS, params=None)  # no params: "%" in RAISE is literal
        for _name, statement in PG_TRIGGERS:
            schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for name, _statement in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)
    elif vendor == "postgresql":
        for name, _statement in PG_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {PG_TRIGGER_TABLES[name]}", params=None)
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS custos_ledger_guard(), custos_ledger_next_seq(), "
            "custos_ledger_pending_guard(), custos_ledger_maintenance()",
            params=None,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_ledger"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
