"""``manage.py quality_check --reference REF --current CUR [--columns a,b] [--config JSON] [--json]``: the
data-quality checks of monitoring.stats.quality on two data locations (an asset's data against its own
earlier data, or a model input against its reference), outside any monitor; nothing is stored.

``--json`` prints ``{"failed": int, "not_checked": int, "checks": [{"name", "check", "column", "score",
"threshold", "failed", "rule", "details"}]}``; a check that could not be computed has ``score`` null and
``rule`` "not checked: <reason>". Exit 0 whether checks fail or not; bad input: one line on stderr,
non-zero exit. Freshness uses ``--timestamp-column`` when given (otherwise it is "not checked": files carry
no arrival time).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from monitoring.management.commands.drift_report import _read
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.quality import QualityConfig, ReferenceSummary, run_checks


class Command(BaseCommand):
    help = "Data-quality checks of a current dataset against a reference dataset (schema, nulls, ranges, ...)."

    def add_arguments(self, parser):
        parser.add_argument("--reference", required=True)
        parser.add_argument("--current", required=True)
        parser.add_argument("--columns", help="comma-separated columns (default: every column of the reference)")
        parser.add_argument("--config", default="{}", help="quality_checks JSON (docs/monitoring.md)")
        parser.add_argument("--timestamp-column", help="column whose latest value gives freshness")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        columns = [c.strip() for c in opts["columns"].split(",") if c.strip()] if opts["columns"] else None
        try:
            raw = json.loads(opts["config"])
            if opts["timestamp_column"]:
                raw.setdefault("freshness", {})
                if isinstance(raw["freshness"], dict):
                    raw["freshness"]["timestamp_column"] = opts["timestamp_column"]
            config = QualityConfig.from_json(raw)
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise CommandError(f"--config: {str(exc).splitlines()[0]}") from None
        reference = _read(opts["reference"], "reference", columns)
        current = _read(opts["current"], "current", None)
        features = columns or list(reference.columns)
        try:
            summary = ReferenceSummary.from_frame(reference, resolve_kinds(reference, features, None))
            results = run_checks(summary, current, features=features, config=config)
        except ValueError as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        if opts["json"]:
            doc = {
                "failed": sum(r.failed for r in results),
                "not_checked": sum(r.score is None for r in results),
                "checks": [
                    {
                        "name": r.name,
                        "check": r.check,
                        "column": r.column,
                        "score": r.score,
                        "threshold": r.threshold,
                        "failed": r.failed,
                        "rule": r.rule,
                        "details": r.details,
                    }
                    for r in results
                ],
            }
            self.stdout.write(json.dumps(doc, default=str))
            return
        for r in results:
            if r.score is None:
                self.stdout.write(f"  --   {r.name}: {r.rule}")
            else:
                self.stdout.write(f"  {'FAIL' if r.failed else 'ok  '} {r.name}: {r.score:.6g} ({r.rule})")
        skipped = sum(r.score is None for r in results)
        self.stdout.write(f"{sum(r.failed for r in results)} of {len(results)} checks failed, {skipped} not checked")
