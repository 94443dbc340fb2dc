"""System checks of ``core`` (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register
from django.db import DatabaseError, connections


@register("security", deploy=True)  # queries the database, so only with --deploy
def check_app_role_does_not_own_the_ledger(app_configs=None, **kwargs):
    """core.W001: in production, the role the app connects as must not own the ledger tables nor be a
    superuser: it could drop the append-only triggers or truncate the log (core/dbroles.py)."""
    if getattr(settings, "CUSTOS_ENV", "production") != "production":
        return []
    warnings = []
    for alias in connections:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            from core.dbroles import owned_tables

            with connection.cursor() as cursor:
                user, superuser, owned = owned_tables(cursor)
        except DatabaseError:
            continue  # unreachable: Django's own checks and the first query report it
        if owned or superuser:
            what = "is a superuser" if superuser else f"owns {', '.join(owned)}"
            warnings.append(
                Warning(
                    f"Database {alias!r}: the app's role {user!r} {what}; it could drop the ledger's append-only "
                    "triggers or truncate it.",
                    hint="Run migrations as an owner role and the app as another role with "
                    "`manage.py db_grant_app_role ROLE` (docs/operations.md, 'Two database roles').",
                    id="core.W001",
                )
            )
    return warnings
