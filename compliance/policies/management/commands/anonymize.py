"""``manage.py anonymize SRC|--asset ID --policy POLICY --out DST [--user NAME]``: anonymize a
file, a table or a cataloged asset.

The same service as the API and the task (``compliance.anonymization.services.anonymization_run``):
SRC and DST are resolved by ``compliance.datasets`` (inside the data roots, never Custos's own
database -- ``--out sqlite:///<app db>#audit_ledgerentry`` is refused on one line, defect 14).
``--asset ID`` anonymizes a cataloged asset with its classifications and registers the output,
exactly as ``POST /api/v1/anonymization-runs`` does; ``--user`` acts as that user (role matrix:
``decide``), without it the command is the system caller ``cli:anonymize``.
POLICY is ``hipaa-safe-harbor``, ``gdpr-pseudonymize`` or the name of an anonymization policy.
The output has the input's format. Prints the run report (operators per column, identifier check,
re-scan, k-anonymity; never data values). Exits non-zero with a message on bad input, and with
status 2 when the verification finds an identifier left in the output.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.permissions import DECIDE, VIEW, require
from catalog.models import DataAsset
from compliance.anonymization.services import WHAT, anonymization_run, check_locations
from compliance.datasets import from_command_line
from compliance.policies import anonymizer, keys, operators
from compliance.policies.cli import actor_for, add_user_argument, one_line_errors


class Command(BaseCommand):
    help = "Anonymize a CSV or Parquet file with a built-in profile or an anonymization policy."

    def add_arguments(self, parser):
        parser.add_argument(
            "src",
            nargs="?",
            help="input file (.csv or .parquet) or table (sqlite:///file.db#table, source:<data source>#table)",
        )
        parser.add_argument("--asset", type=int, help="anonymize this cataloged asset (instead of SRC)")
        add_user_argument(parser)
        parser.add_argument("--policy", required=True, help="hipaa-safe-harbor, gdpr-pseudonymize or a policy name")
        parser.add_argument(
            "--out",
            required=True,
            help="output file, same format as the input (a table may go to a file or sqlite:///file.db#table)",
        )
        parser.add_argument("--chunk-rows", type=int, default=100_000)
        parser.add_argument("--json", action="store_true", help="print the full report as JSON")

    def handle(self, *args, src, policy, out, chunk_rows, json: bool = False, asset=None, user=None, **options):
        actor = actor_for(user, "anonymize")
        with one_line_errors():  # the role first: a refused user learns nothing about files or assets
            require(actor, DECIDE, WHAT)
        if (src is None) == (asset is None):
            raise CommandError("give SRC or --asset ID (not both)")
        # typed paths are relative to the shell's directory (the API's are under the first data root)
        src = from_command_line(src) if src is not None else None
        out = from_command_line(out)
        source_asset = None
        if asset is not None:
            visible = DataAsset.objects.all() if isinstance(actor, str) else DataAsset.objects.restrict(actor, VIEW)
            source_asset = visible.filter(pk=asset).first()
            if source_asset is None:
                raise CommandError("no such asset (--asset)")
        with one_line_errors():  # the datasets rule first: never Custos's own database, never outside the roots
            check_locations(output_path=out, source_asset=source_asset, source_path=src)
        target = out if anonymizer.is_table(out) else Path(out)
        if src is not None:
            source = src if anonymizer.is_table(src) else Path(src)
            try:
                in_fmt, out_fmt = anonymizer.location_format(source), anonymizer.location_format(target)
            except anonymizer.AnonymizeError as exc:
                raise CommandError(str(exc)) from exc
            if in_fmt != "sql" and in_fmt != out_fmt:
                raise CommandError("--out must have the same format as SRC (.csv -> .csv, .parquet -> .parquet)")
        if isinstance(target, Path) and target.parent and not target.parent.exists():
            raise CommandError("the output directory does not exist")
        try:
            with one_line_errors():
                run = anonymization_run(
                    actor=actor,
                    policy=policy,
                    source_asset=source_asset,
                    source_path=None if source_asset is not None else src,
                    output_path=out,
                    chunk_rows=chunk_rows,
                )
        except (anonymizer.AnonymizeError, operators.OperatorError, keys.KeyError_) as exc:
            raise CommandError(str(exc)) from exc
        report = run.report
        if json:
            self.stdout.write(_json(report))
        else:
            self._summary(report, target)
        if not report.get("passed"):
            raise CommandError("verification failed: a check found identifiers or was skipped (see the report)", returncode=2)

    def _summary(self, report, target):
        w = self.stdout.write
        w(
            f"profile {report['profile']}: {report['rows']} rows in {report['seconds']} s ({report['rows_per_second']:.0f} rows/s) -> {target}"
        )
        for column in report["columns"]:
            method = f" ({column['method']})" if column.get("method") else ""
            entity = column["entity_type"] or "-"
            w(f"  {column['name']:<28} {entity:<22} {column['operator']}{method}  [{column['basis']}]")
        verification = report.get("verification") or {}
        for check in verification.get("checks", []):
            scope = "every output row" if check["complete"] else "a sample"
            w(f"check: {check['name']} over {scope}: {check['found']} found")
            for column, count in sorted((check.get("by_column") or {}).items()):
                w(f"  ! {column}: {count}")
            for gap in check.get("not_checked", []):
                w(f"  not checked: {gap}")
        for item in verification.get("skipped", []):
            w(f"check skipped: {item['name']} ({item['reason']})")
        for item in verification.get("not_applicable", []):
            w(f"check not applicable: {item['name']} ({item['reason']})")
        k = report["k_anonymity"]
        if k.get("k") is not None:
            w(
                f"k-anonymity over {', '.join(k['quasi_identifiers'])}: k={k['k']}, {k['equivalence_classes']} classes, "
                f"{k['rows_below_target']} rows in classes below k={k['target_k']} ({k['share_rows_below_target']:.1%})"
            )
        # "passed" names the checks it rests on; never printed when one found something or was skipped.
        names = ", ".join(c["name"] for c in verification.get("checks", []))
        if report["passed"]:
            w(self.style.SUCCESS(f"checks passed (nothing found): {names}"))
        else:
            w(self.style.ERROR("NOT verified: a check found identifiers or was skipped (see above)"))


def _json(report) -> str:
    return json.dumps(report, indent=2, sort_keys=True, default=str)
