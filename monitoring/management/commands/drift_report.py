"""``manage.py drift_report --reference REF --current CUR [--columns a,b] [--json]``: per-column drift of
CUR against REF with Evidently's default rules (docs/monitoring.md).

``--model-version ID [--monitor NAME] [--current CUR]``: the drift of a model version's monitor (its
reference, columns and options) against CUR, or against every prediction batch logged for the version.
Nothing is stored (a stored, audited run is ``POST /api/v1/monitoring/monitors/{id}/run``).

REF and CUR are data locations (CSV, Parquet, JSONL files inside the configured data roots, or registered
source tables), read through compliance.datasets. Exit status 0 whether or not drift is found; on bad input
one line on stderr and a non-zero status. The messages name columns and rules, never data values.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compliance import datasets
from monitoring.data import read_typed_frame
from monitoring.stats.drift import DriftOptions, drift_frames
from monitoring.stats.methods import METHODS
from monitoring.stats.report import report_json


class Command(BaseCommand):
    help = "Per-column data drift of a current dataset against a reference dataset (Evidently's default rules)."

    def add_arguments(self, parser):
        parser.add_argument("--reference", help="reference data location (file or source table)")
        parser.add_argument("--current", help="current data location")
        parser.add_argument("--model-version", type=int, help="use this model version's monitor instead of --reference")
        parser.add_argument("--monitor", help="the monitor's name, when the version has more than one")
        parser.add_argument("--columns", help="comma-separated columns (default: every column of the reference)")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--method", choices=sorted(METHODS), help="one method for every column instead of the default rule")
        parser.add_argument("--threshold", type=float, help="one threshold for every column instead of the method's default")
        parser.add_argument(
            "--drift-share", type=float, default=0.5, help="dataset drift when at least this share of columns drifts"
        )
        parser.add_argument(
            "--correction", choices=["none", "bonferroni", "bh"], default="none", help="multiple-testing correction of p-values"
        )

    def handle(self, *args, **opts):
        columns = [c.strip() for c in opts["columns"].split(",") if c.strip()] if opts["columns"] else None
        if opts["columns"] is not None and not columns:
            raise CommandError("--columns names no column")
        if opts["model_version"] is not None:
            report = self._for_model_version(opts, columns)
            self._print(report, opts["json"])
            return
        if not opts["reference"] or not opts["current"]:
            raise CommandError("give --reference and --current, or --model-version")
        try:
            options = DriftOptions(
                drift_share=opts["drift_share"], method=opts["method"], threshold=opts["threshold"], correction=opts["correction"]
            )
            reference = _read(opts["reference"], "reference", columns)
            current = _read(opts["current"], "current", columns)
            report = drift_frames(reference, current, columns=columns, options=options)
        except ValueError as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        self._print(report, opts["json"])

    def _for_model_version(self, opts, columns):
        from monitoring.choices import BatchKind
        from monitoring.models import LoggedBatch, Monitor
        from monitoring.services.runs import RunInputError, load_batches, load_reference, monitor_drift

        if opts["reference"]:
            raise CommandError("--model-version takes the reference from the version's monitor: drop --reference")
        monitors = Monitor.objects.filter(model_version_id=opts["model_version"], active=True)
        if opts["monitor"]:
            monitors = monitors.filter(name=opts["monitor"])
        found = list(monitors.select_related("reference_asset", "reference_profile")[:2])
        if not found:
            raise CommandError("no active monitor for that model version (and name)")
        if len(found) > 1:
            raise CommandError("the model version has several active monitors: name one with --monitor")
        monitor = found[0]
        if columns:
            monitor.columns = columns
        try:
            reference = load_reference(monitor)
            if opts["current"]:
                current = _read(opts["current"], "current", columns)
            else:
                batches = list(LoggedBatch.objects.filter(model_version=monitor.model_version, kind=BatchKind.PREDICTIONS))
                if not batches:
                    raise CommandError("no logged predictions for that model version: give --current")
                current = load_batches(batches)
            return monitor_drift(monitor, reference, current)
        except (RunInputError, ValueError, ValidationError) as exc:
            raise CommandError(str(exc).splitlines()[0]) from None

    def _print(self, report, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report_json(report)))
            return
        self.stdout.write(
            f"dataset drift: {'yes' if report.dataset_drift else 'no'} "
            f"({report.number_of_drifted_columns}/{report.number_of_columns} columns drifted, share {report.share_drifted:.3f}, "
            f"threshold {report.drift_share})"
        )
        for c in report.columns:
            if c.skipped:
                self.stdout.write(f"  {c.name}: skipped ({c.skipped})")
                continue
            mark = "DRIFT" if c.drifted else "ok   "
            self.stdout.write(
                f"  {mark} {c.name} [{c.kind}] {c.method}={c.score:.6g} threshold {c.threshold} ({c.threshold_source}); "
                f"n_ref={c.n_ref} n_cur={c.n_cur}; {c.selection}"
            )


def _read(location: str, what: str, columns: list[str] | None):
    try:
        frame = read_typed_frame(location)
    except datasets.LocationRefused as exc:
        raise CommandError(f"{what} location refused: {exc.messages[0]}") from None
    except (datasets.ReadError, ValidationError, OSError) as exc:
        raise CommandError(f"{what} could not be read: {type(exc).__name__}") from None
    if frame.empty:
        raise CommandError(f"{what} has no rows")
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise CommandError(f"{what} has no column(s) {', '.join(missing)}")
    return frame
