from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from django.core.signals import request_started
        from django.db.backends.signals import connection_created

        from audit import (
            checks,  # noqa: F401 - registers the system check
            panels,  # noqa: F401 - registers page panels (core.pages)
        )
        from audit.maintenance import register_sqlite_function
        from audit.sequencer import serve_started

        connection_created.connect(register_sqlite_function, dispatch_uid="custos_ledger_sqlite_function")
        request_started.connect(serve_started, dispatch_uid="custos_ledger_drain_at_start")
