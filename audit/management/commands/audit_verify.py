"""``manage.py audit_verify [--checkpoint FILE]``: verify the whole stored ledger.

Intact: prints ``OK <tree-size> <base64-root>`` and exits 0. Otherwise prints the first problem
(``FAIL seq <n>: <what>``) and any others, and exits 1. See audit/verification.py for the checks.
"""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.keys import trusted_verifiers
from audit.sequencer import sequence_pending
from audit.verification import verify_ledger
from audit.verify_core import b64


class Command(BaseCommand):
    help = "Recompute every leaf and root of the audit log and check it against all checkpoints."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", help="a signed checkpoint note kept outside the database")
        parser.add_argument("--no-sequence", action="store_true", help="do not sequence pending events first")
        parser.add_argument("--workers", type=int, default=1, help="processes scanning the log (file or server databases)")

    def handle(self, *args, checkpoint=None, no_sequence=False, workers=1, **options):
        outside = None
        if checkpoint:
            try:
                outside = Path(checkpoint).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot read {checkpoint}: {exc.strerror}")
        if not no_sequence:
            sequence_pending()
        report = verify_ledger(
            connection, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN, outside_note=outside
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
