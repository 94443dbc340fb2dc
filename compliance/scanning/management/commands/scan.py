"""``manage.py scan PATH [--json] [--sample N] [--seed S] [--asset ID]``

Scans a CSV, Parquet or JSON-lines file (or a ``sqlite:///file.db#table`` / ``postgresql://...#table``
location) in this process. Progress goes to stderr; stdout carries the report only -- with
``--json`` exactly one JSON document (see docs/scanning.md). With ``--asset`` the scan is recorded
on that cataloged asset (PATH defaults to the asset's location) and writes suggested
classifications. Every scan is recorded as a ScanRun and audited when the database is reachable.
"""

from __future__ import annotations

import json
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

ACTOR = "command:scan"


class Command(BaseCommand):
    help = "Scan a file or table for personal data and report the PII entity types found per column."
    requires_system_checks: list = []  # a scan must not depend on unrelated apps' checks

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="CSV / Parquet / JSON-lines file, or URL#table")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--sample", type=int, default=1000, help="cells sampled per column (default 1000)")
        parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
        parser.add_argument("--asset", type=int, help="id of the cataloged asset to scan and classify")

    def handle(self, *args, **options):
        path, sample, seed = options["path"], options["sample"], options["seed"]
        if sample < 1:
            raise CommandError("--sample must be at least 1")
        if not path and not options["asset"]:
            raise CommandError("give a PATH to scan, or --asset ID")
        progress = _Progress(self.stderr)
        if options["asset"]:
            document = self._scan_asset(options["asset"], path, sample, seed)
        else:
            document = self._scan_file(path, sample, seed, progress)
        progress.done(document)
        if options["json"]:
            self.stdout.write(json.dumps(document, ensure_ascii=False))
            self.stdout.flush()
        else:
            self._print_table(document)

    def _scan_file(self, path: str, sample: int, seed: int, progress) -> dict:
        from compliance.datasets.sources import SourceError
        from compliance.scanning import services
        from compliance.scanning.scanner import scan_path

        try:
            result = scan_path(path, sample_size=sample, seed=seed, progress=progress)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:  # the datasets rule refused the location
            raise CommandError("; ".join(exc.messages)) from None
        except ValueError as exc:
            raise CommandError(f"cannot scan {path}: {type(exc).__name__}") from None
        try:
            services.scan_record_local(actor=ACTOR, result=result)
        except (DatabaseError, ValidationError) as exc:
            self.stderr.write(f"scan: not recorded in the catalog ({type(exc).__name__}); run migrate to record scans")
        return result.as_json()

    def _scan_asset(self, asset_id: int, path: str | None, sample: int, seed: int) -> dict:
        from catalog.models import DataAsset
        from compliance.scanning import services

        asset = DataAsset.objects.filter(pk=asset_id).first()
        if asset is None:
            raise CommandError(f"no asset with id {asset_id}")
        started = time.perf_counter()
        try:
            run = services.scan_start(
                actor=ACTOR, asset=asset, location=path or "", sample_size=sample, seed=seed, dispatch=False
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"scan {run.pk}: scanning asset {asset.pk} ({run.location})")
        run = services.scan_execute(run_id=run.pk, fan_out=False)
        if run.status != "succeeded":
            raise CommandError(f"scan {run.pk} {run.status}: {run.error}")
        self.stderr.write(f"scan {run.pk}: {run.classifications_written} suggested classifications written")
        return {
            "source": run.location,
            "rows_total": run.rows_total,
            "rows_sampled": run.rows_sampled,
            "seconds": round(time.perf_counter() - started, 3),
            "columns": [
                {
                    "name": c["name"],
                    "entities": [{"type": e["type"], "confidence": e["confidence"], "share": e["share"]} for e in c["entities"]],
                }
                for c in run.findings
            ],
        }

    def _print_table(self, document: dict) -> None:
        self.stdout.write(f"{document['source']}: {document['rows_total']} rows, {document['rows_sampled']} sampled")
        width = max((len(c["name"]) for c in document["columns"]), default=4)
        for column in document["columns"]:
            found = ", ".join(f"{e['type']} ({e['confidence']:.2f}, {e['share']:.0%})" for e in column["entities"]) or "-"
            self.stdout.write(f"  {column['name']:<{width}}  {found}")


class _Progress:
    """Rows read so far, on stderr at most once a second."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, rows: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            return
        self.last = now
        share = f" ({rows / total:.0%})" if total else ""
        self.stream.write(f"scan: {rows:,} rows read{share}, {now - self.started:.1f} s")

    def done(self, document: dict) -> None:
        found = sum(1 for c in document["columns"] if c["entities"])
        self.stream.write(
            f"scan: done, {document['rows_total']} rows, {found} of {len(document['columns'])} columns hold personal data"
        )
