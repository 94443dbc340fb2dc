"""``manage.py evidence_export --out FILE [--from DATE] [--to DATE] [--regulation R] [--asset ID ...]``

Builds an evidence bundle in the foreground (the same services the API and its Celery task run)
and prints where it is and the command to verify it. With ``--user X`` it exports as X under the
one export rule (auditors and admins; a steward or viewer gets a one-line ``refused: ...`` error
and exit status 1, no traceback); without it the command is the trusted system caller. Dates are ISO 8601 (``2026-01-31`` or a full
timestamp; a bare ``--to`` date means the end of that day, UTC).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from compliance.evidence import services
from compliance.evidence.choices import ExportStatus
from compliance.evidence.periods import period_bound


def parse_when(text: str | None, *, end_of_day: bool) -> datetime | None:
    try:
        return period_bound(text, end_of_day=end_of_day)
    except ValueError as exc:
        raise CommandError(f"not an ISO 8601 date or time: {text!r}") from exc


class Command(BaseCommand):
    help = "Export a signed, offline-verifiable evidence bundle (zip) for a period."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="where to write the zip")
        parser.add_argument("--from", dest="date_from", help="start of the period (ISO date or time); default: the log's start")
        parser.add_argument("--to", dest="date_to", help="end of the period and as-of date; default: now")
        parser.add_argument(
            "--regulation", default="", help="narrow the evidence views to one regulation pack (gdpr, hipaa, ccpa)"
        )
        parser.add_argument(
            "--asset", dest="assets", type=int, action="append", default=[], help="narrow to an asset id (repeatable)"
        )
        parser.add_argument(
            "--user",
            help="export as this user, under the same rule as the API (auditor or admin); default: the command itself",
        )

    def handle(self, *args, out, date_from=None, date_to=None, regulation="", assets=(), user=None, **options):
        period_from = parse_when(date_from, end_of_day=False)
        period_to = parse_when(date_to, end_of_day=True)
        actor = "evidence_export command"
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError("no such user (--user)")
        path = Path(out).resolve()
        try:
            export = services.export_request(
                actor=actor,
                period_from=period_from,
                period_to=period_to,
                regulation=regulation,
                asset_ids=list(assets),
                run_async=False,
                file_path=str(path),
            )
        except PermissionDenied as exc:
            raise CommandError(f"refused: {exc}") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        export = services.export_build(export_id=export.pk)
        if export.status != ExportStatus.SUCCEEDED:
            raise CommandError(f"export {export.pk} failed: {export.error}")
        self.stdout.write(
            f"wrote {path} ({export.size} bytes, sha256 {export.sha256}); ledger seq {export.first_seq}..{export.end_seq - 1}\n"
            f"verify with: python -m zipfile -e {path.name} x && python x/verify.py {path.name} --key '{export.verifier_key}'\n"
            f"  (or: unzip -p {path.name} verify.py > verify.py && python verify.py {path.name} --key '{export.verifier_key}')"
        )
