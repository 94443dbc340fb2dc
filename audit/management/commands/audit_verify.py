"""``manage.py audit_verify [--checkpoint FILE]``: verify the whole stored ledger.

Intact: prints ``OK <tree-size> <base64-root>`` and exits 0. Otherwise prints the first problem
(``FAIL seq <n>: <what>``) and any others, and exits 1. See audit/verification.py for the checks.
"""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit import fast_merkle
from audit.keys import trusted_verifiers
from audit.sequencer import sequence_pending
from audit.verification import Connector, default_workers, verify_ledger
from audit.verify_core import b64


class Command(BaseCommand):
    help = "Recompute every leaf and root of the audit log and check it against all checkpoints."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", help="a signed checkpoint note kept outside the database")
        parser.add_argument("--no-sequence", action="store_true", help="do not sequence pending events first")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes hashing the log (default: one per CPU, at most 8; 1 for an in-memory database)",
        )

    def handle(self, *args, checkpoint=None, no_sequence=False, workers=None, **options):
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        outside = None
        if checkpoint:
            try:
                outside = Path(checkpoint).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot read {checkpoint}: {exc.strerror}")
        if not fast_merkle.NATIVE:
            # stderr: stdout stays the one-line contract ("OK <size> <root>" or "FAIL ...").
            self.stderr.write(
                "note: hashing in pure Python, same result but about 2x slower (audit._merkle is not built, "
                "or CUSTOS_MERKLE_NATIVE=0; make install builds it with gcc, libssl-dev and libsqlite3-dev)"
            )
        if not no_sequence:
            sequence_pending()
        # Worker processes and the cross-check thread read on connections of their own: they
        # cannot see a transaction this one has open (a caller's atomic block, a test), so then
        # everything runs here.
        connect = None if connection.in_atomic_block else Connector.for_django(connection)
        report = verify_ledger(
            connection,
            verifiers=trusted_verifiers(),
            origin=settings.CUSTOS_LEDGER_ORIGIN,
            outside_note=outside,
            workers=workers or default_workers(connect),
            connect=connect,
        )
        if report.ok:
            self.stdout.write(f"OK {report.size} {b64(report.root)}")
            return
        first = report.first_problem
        self.stdout.write(f"FAIL {first}")
        for problem in report.problems:
            if problem is not first:
                self.stdout.write(f"also: {problem}")
        sys.exit(1)
