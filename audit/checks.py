"""Start-up checks: refuse to run when the ledger's append-only triggers are missing.

``audit.E001`` fires when the ledger migrations are applied but a trigger is gone (dropped by
hand, or lost when a migration rebuilt a table, which SQLite does for many ALTERs). Before the
migrations have run there is nothing to guard yet, and a database that cannot be reached is left
to Django's own checks. The sequencer calls :func:`ensure_triggers` before it appends, so a
worker that never ran the checks still refuses to write to an unguarded log.
"""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import DatabaseError, connections

from audit.triggers import expected_triggers, installed_triggers

TRIGGER_MIGRATION = ("audit", "0003_append_only_triggers")
_verified: set[str] = set()


class LedgerUnguarded(RuntimeError):
    """The ledger tables lack their append-only triggers."""


def missing_triggers(using: str = "default") -> list[str] | None:
    """Names of missing triggers, or None when the trigger migration has not been applied."""
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    recorder = MigrationRecorder(connection)
    if not recorder.has_table() or TRIGGER_MIGRATION not in recorder.applied_migrations():
        return None
    return sorted(set(expected_triggers(connection.vendor)) - installed_triggers(connection))


def ensure_triggers(using: str = "default") -> None:
    """Raise LedgerUnguarded if the triggers are missing (checked once per process and database)."""
    if using in _verified:
        return
    missing = missing_triggers(using)
    if missing:
        raise LedgerUnguarded(f"ledger append-only triggers missing: {', '.join(missing)}; run `manage.py migrate audit`")
    if missing is not None:
        _verified.add(using)


@register("audit")
def check_ledger_triggers(app_configs=None, **kwargs):
    errors = []
    for alias in connections:
        try:
            missing = missing_triggers(alias)
        except DatabaseError:
            continue  # unreachable database: Django's own checks and the first query report it
        if missing:
            errors.append(
                Error(
                    f"The audit ledger's append-only triggers are missing in database {alias!r}: {', '.join(missing)}.",
                    hint="Re-create them (see docs/ledger.md, 'Append-only'); do not serve with an unguarded ledger.",
                    id="audit.E001",
                )
            )
    return errors
