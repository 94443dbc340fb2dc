"""Django's ``flush``, run in ledger maintenance mode so the append-only triggers let it empty
the ledger tables too. The test runner calls ``flush`` between transactional tests, which is why
this override exists; see :mod:`audit.maintenance` for what it allows and why that is safe."""

from django.core.management.commands.flush import Command as FlushCommand

from audit.maintenance import ledger_maintenance


class Command(FlushCommand):
    def handle(self, **options):
        with ledger_maintenance(options["database"], purpose="flush (every table is emptied)"):
            return super().handle(**options)
