"""``manage.py retention_enforce [--dry-run]``: apply the retention policies and print the report.

Run with ``--dry-run`` first: it counts expired rows and says what would happen, changing nothing.
Without it, each action is an audit event (counts, cutoff, keyed digest of the rows) and active
legal holds block destructive actions.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from compliance.policies.cli import actor_for, add_user_argument, one_line_errors
from compliance.retention.services import retention_enforce


class Command(BaseCommand):
    help = "Enforce retention policies (delete, anonymize, archive or flag expired rows)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count and report only")
        parser.add_argument("--json", action="store_true")
        add_user_argument(parser)

    def handle(self, *args, dry_run=False, json=False, user=None, **options):
        actor = actor_for(user, "retention_enforce")
        with one_line_errors():
            run = retention_enforce(actor=actor, dry_run=dry_run)
        report = run.report
        if json:
            self.stdout.write(_dumps({"run": run.pk, "dry_run": dry_run, **report}))
            return
        mode = "DRY RUN (nothing changed)" if dry_run else "ENFORCED"
        self.stdout.write(self.style.MIGRATE_HEADING(f"retention run {run.pk}: {mode}"))
        for item in report["items"]:
            counts = (
                f"{item.get('expired_rows', 0)}/{item.get('rows', '-')} rows expired" if item.get("date_column") else "asset age"
            )
            self.stdout.write(
                f"  policy {item['policy_id']} asset {item['asset_id']}: {item['action']} (> {item['max_age_days']} days) "
                f"{counts} -> {item['outcome']}" + (f" [{item['error']}]" if item.get("error") else "")
            )
        summary = report["summary"]
        self.stdout.write(" ".join(f"{k}={v}" for k, v in summary.items()))


def _dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)
