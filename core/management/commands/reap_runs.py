"""``manage.py reap_runs [--dry-run] [--grace SECONDS]``: resume or fail runs whose worker died.

What ``core.reaper`` does on every beat tick, once, now: prints one line per run resumed or
failed (or "nothing stale"). Exits 1 with one line when the broker cannot be reached (nobody is
declared dead without the workers' answers).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from core import reaper


class Command(BaseCommand):
    help = "Resume (scans) or fail (other runs) running jobs that no live worker holds."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
        parser.add_argument(
            "--grace", type=int, help="seconds since a run's last sign of work (default CUSTOS_REAPER_GRACE_SECONDS)"
        )

    def handle(self, *args, dry_run=False, grace=None, **options):
        overrides = {} if grace is None else {"CUSTOS_REAPER_GRACE_SECONDS": grace}
        with override_settings(**overrides):
            try:
                reaped = reaper.reap_runs(dry_run=dry_run)
            except reaper.BrokerUnreachable as exc:
                raise CommandError(f"cannot ask the workers ({exc}): nothing reaped") from None
        self.stdout.write(("(dry run) " if dry_run else "") + reaper.summary(reaped))
