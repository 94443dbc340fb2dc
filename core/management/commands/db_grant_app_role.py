"""``manage.py db_grant_app_role ROLE [--schema public] [--print]``: the app role's grants (PostgreSQL).

Run as the owner role (the one that runs ``migrate``), after every ``migrate``: ROLE may read and
write the app's tables and sequences, only read and append the audit ledger, and dequeue the
sequencer's queue; it gets no TRUNCATE, REFERENCES or TRIGGER anywhere (core/dbroles.py).
``--print`` prints the statements instead of running them.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from core.dbroles import app_role_grants


class Command(BaseCommand):
    help = "Grant the application's PostgreSQL role what it needs, and no more (ledger: read and append only)."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("role")
        parser.add_argument("--schema", default="public")
        parser.add_argument("--print", action="store_true", dest="print_only")

    def handle(self, *args, role, schema, print_only=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("database roles are a PostgreSQL setup; SQLite has none (docs/operations.md)")
        statements = app_role_grants(role, schema)
        with connection.cursor() as cursor:
            if print_only:
                for statement in statements:
                    self.stdout.write(statement.as_string(cursor.connection) + ";")
                return
            try:
                with transaction.atomic():
                    for statement in statements:
                        cursor.execute(statement)
            except DatabaseError as exc:
                raise CommandError(f"cannot grant ({type(exc).__name__}): run this as the tables' owner") from None
        self.stdout.write(f"db_grant_app_role: {role} may read and write the app's tables, only read and append the ledger")
