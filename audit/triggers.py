"""Database triggers that make the ledger tables append-only (docs/ledger.md, "Append-only").

Refused on both databases: any UPDATE; any DELETE or TRUNCATE (except in maintenance mode, see
below); a ``LedgerEntry`` insert whose ``seq`` is not exactly the next number; a
``PendingEvent`` delete for an event that is not in the log yet. SQLite additionally refuses
inserts that would replace an existing row (``INSERT OR REPLACE`` deletes the old row *without*
firing delete triggers). Every refusal raises an IntegrityError whose message starts with
``custos ledger:``.

Maintenance mode lets DELETE/TRUNCATE through for one database session: Django's ``flush``
(which the test runner uses between transactional tests) turns it on around the flush, see
:mod:`audit.maintenance`. PostgreSQL reads the session setting ``custos.ledger_maintenance``;
SQLite calls ``custos_ledger_maintenance()``, a function Custos registers on each of its own
connections (any other client, e.g. the sqlite3 shell, lacks it, so its deletes fail closed).
On PostgreSQL the pending queue's guard honours the setting only for a role that owns the table
(or is a member of its owner): the app role, which keeps DELETE on the queue so the sequencer can
dequeue, cannot empty it of unsequenced events by setting it (migration 0004).
It is a guard against the application's own mistakes, not against a database owner: production
relies on role separation (the app's role holds only SELECT/INSERT on ledger tables) and on signed
checkpoints kept outside the database to *detect* what a database owner could still do.
"""

from __future__ import annotations

LEDGER_TABLES = ("audit_auditevent", "audit_ledgerentry", "audit_ledgernode", "audit_checkpoint")
QUEUE_TABLE = "audit_pendingevent"
_PK = {"audit_auditevent": "id", "audit_ledgerentry": "seq", "audit_ledgernode": "id", "audit_checkpoint": "id"}
_NATURAL_KEY = {"audit_ledgerentry": ("event_id",), "audit_ledgernode": ("level", "index"), "audit_checkpoint": ("tree_size",)}


def _sqlite_refuse(message: str) -> str:
    return f"SELECT RAISE(ABORT, 'custos ledger: {message}');"


def sqlite_triggers() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement, for SQLite."""
    maintenance = "custos_ledger_maintenance() = 0"
    out: dict[str, str] = {}
    for table in LEDGER_TABLES:
        out[f"{table}_no_update"] = (
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN {_sqlite_refuse(f'UPDATE on {table} refused (append-only)')} END"
        )
        out[f"{table}_no_delete"] = (
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN {maintenance} "
            f"BEGIN {_sqlite_refuse(f'DELETE on {table} refused (append-only)')} END"
        )
        keys = [(_PK[table],), *([_NATURAL_KEY[table]] if table in _NATURAL_KEY else [])]
        clash = " OR ".join(
            "EXISTS (SELECT 1 FROM {t} WHERE {c})".format(t=table, c=" AND ".join(f'"{col}" = NEW."{col}"' for col in key))
            for key in keys
        )
        out[f"{table}_no_replace"] = (
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {clash} "
            f"BEGIN {_sqlite_refuse(f'INSERT over an existing row of {table} refused (append-only)')} END"
        )
    out["audit_ledgerentry_next_seq"] = (
        "CREATE TRIGGER audit_ledgerentry_next_seq BEFORE INSERT ON audit_ledgerentry "
        "WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_ledgerentry) "
        f"BEGIN {_sqlite_refuse('insert is not the next sequence number')} END"
    )
    out[f"{QUEUE_TABLE}_no_update"] = (
        f"CREATE TRIGGER {QUEUE_TABLE}_no_update BEFORE UPDATE ON {QUEUE_TABLE} "
        f"BEGIN {_sqlite_refuse('UPDATE on audit_pendingevent refused')} END"
    )
    out[f"{QUEUE_TABLE}_only_sequenced"] = (
        f"CREATE TRIGGER {QUEUE_TABLE}_only_sequenced BEFORE DELETE ON {QUEUE_TABLE} "
        f"WHEN {maintenance} AND NOT EXISTS (SELECT 1 FROM audit_ledgerentry WHERE event_id = OLD.event_id) "
        f"BEGIN {_sqlite_refuse('a pending event leaves the queue only once it is in the log')} END"
    )
    return out


PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION custos_ledger_maintenance() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('custos.ledger_maintenance', true), '') = 'on'
$$;

CREATE OR REPLACE FUNCTION custos_ledger_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND custos_ledger_maintenance() THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'custos ledger: % on % refused (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE OR REPLACE FUNCTION custos_ledger_next_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM (SELECT coalesce(max(seq), -1) + 1 FROM audit_ledgerentry) THEN
        RAISE EXCEPTION 'custos ledger: insert is not the next sequence number'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

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


def postgresql_triggers() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement, for PostgreSQL (functions in PG_FUNCTIONS)."""
    out: dict[str, str] = {}
    for table in LEDGER_TABLES:
        out[f"{table}_no_change"] = (
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION custos_ledger_guard()"
        )
        out[f"{table}_no_truncate"] = (
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_guard()"
        )
    out["audit_ledgerentry_next_seq"] = (
        "CREATE TRIGGER audit_ledgerentry_next_seq BEFORE INSERT ON audit_ledgerentry "
        "FOR EACH ROW EXECUTE FUNCTION custos_ledger_next_seq()"
    )
    out[f"{QUEUE_TABLE}_guard"] = (
        f"CREATE TRIGGER {QUEUE_TABLE}_guard BEFORE UPDATE OR DELETE ON {QUEUE_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION custos_ledger_pending_guard()"
    )
    out[f"{QUEUE_TABLE}_no_truncate"] = (
        f"CREATE TRIGGER {QUEUE_TABLE}_no_truncate BEFORE TRUNCATE ON {QUEUE_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION custos_ledger_pending_guard()"
    )
    return out


def expected_triggers(vendor: str) -> dict[str, str]:
    if vendor == "sqlite":
        return sqlite_triggers()
    if vendor == "postgresql":
        return postgresql_triggers()
    return {}


def installed_triggers(connection) -> set[str]:
    """Names of the ledger triggers present in ``connection``'s database."""
    names = list(expected_triggers(connection.vendor))
    if not names:
        return set()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()} & set(names)


def install(schema_editor) -> None:
    """Create every trigger (migration helper; also used to restore them on a copy in tests)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTIONS, params=None)  # no params: "%" in RAISE is literal
    for statement in expected_triggers(vendor).values():
        schema_editor.execute(statement)


def uninstall(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name in expected_triggers(vendor):
        if vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            table = next(t for t in (*LEDGER_TABLES, QUEUE_TABLE) if name.startswith(t))
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    if vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS custos_ledger_guard(), custos_ledger_next_seq(), "
            "custos_ledger_pending_guard(), custos_ledger_maintenance()"
        )
