"""``manage.py scan PATH [--json] [--sample N] [--seed S] [--asset ID] [--user NAME]``

Scans a CSV, Parquet or JSON-lines file (or a ``sqlite:///file.db#table`` / ``source:<name>#table``
location) in this process, through the same services as the API and the Celery task
(``services.scan_start`` then ``services.scan_execute``): the same checks, the same ScanRun, the
same audit events, the same suggested classifications. Progress goes to stderr; stdout carries the
report only -- with ``--json`` exactly one JSON document (see docs/scanning.md). With ``--asset``
the scan is recorded on that cataloged asset (PATH defaults to the asset's location) and writes
suggested classifications. ``--user NAME`` scans as that user under the role matrix (a refusal is a
one-line ``refused: ...`` error, exit status 1); without it the command is a trusted system caller.

When the database is unreachable (not migrated) and no ``--user`` is given, a file is still scanned
and reported with the same analysis (``scanner.scan_path``), not recorded, with a note on stderr.
"""

from __future__ import annotations

import json
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

ACTOR = "command:scan"
# In one process there are no workers to share chunks with: the whole source is one chunk, the
# same single pass ``scanner.scan_path`` makes.
IN_PROCESS_CHUNK_ROWS = 2_000_000_000


class Command(BaseCommand):
    help = "Scan a file or table for personal data and report the PII entity types found per column."
    requires_system_checks: list = []  # a scan must not depend on unrelated apps' checks

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="CSV / Parquet / JSON-lines file, or URL#table")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.add_argument("--sample", type=int, default=1000, help="cells sampled per column (default 1000)")
        parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
        parser.add_argument("--asset", type=int, help="id of the cataloged asset to scan and classify")
        parser.add_argument("--user", help="scan as this user, under the same role matrix as the API")

    def handle(self, *args, **options):
        path, sample, seed = options["path"], options["sample"], options["seed"]
        if sample < 1:
            raise CommandError("--sample must be at least 1")
        if not path and not options["asset"]:
            raise CommandError("give a PATH to scan, or --asset ID")
        progress = _Progress(self.stderr)
        actor = self._actor(options["user"])
        asset = self._asset(options["asset"], actor) if options["asset"] else None
        self.traceback = options.get("traceback", False)
        document = self._scan(actor, asset, path, sample, seed, progress)
        progress.done(document)
        if options["json"]:
            self.stdout.write(json.dumps(document, ensure_ascii=False))
            self.stdout.flush()
        else:
            self._print_table(document)

    def _actor(self, username: str | None):
        if not username:
            return ACTOR
        from accounts.models import User

        try:
            user = User.objects.filter(username=username, is_active=True).first()
        except DatabaseError as exc:
            raise CommandError(f"--user needs the database ({type(exc).__name__}); run migrate") from None
        if user is None:
            raise CommandError("no such active user (--user)")
        return user

    def _asset(self, asset_id: int, actor):
        from catalog.models import DataAsset

        assets = DataAsset.objects.all() if isinstance(actor, str) else DataAsset.objects.restrict(actor, "view")
        try:
            asset = assets.filter(pk=asset_id).first()
        except DatabaseError as exc:
            raise CommandError(f"--asset needs the database ({type(exc).__name__}); run migrate") from None
        if asset is None:  # missing and not visible to --user read the same
            raise CommandError(f"no asset with id {asset_id}")
        return asset

    def _scan(self, actor, asset, path: str | None, sample: int, seed: int, progress) -> dict:
        from compliance.datasets import from_command_line
        from compliance.scanning import services

        started = time.perf_counter()
        if path and asset is None:
            path = from_command_line(path)  # a relative path is relative to the shell's directory
        try:
            run = services.scan_start(
                actor=actor,
                asset=asset,
                location=path or "",
                sample_size=sample,
                seed=seed,
                chunk_rows=IN_PROCESS_CHUNK_ROWS,
                dispatch=False,
            )
        except PermissionDenied as exc:
            raise CommandError(f"refused: {exc}") from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except DatabaseError as exc:
            if asset is not None or not isinstance(actor, str):
                raise CommandError(f"the database is unreachable ({type(exc).__name__}); run migrate") from None
            self.stderr.write(f"scan: not recorded in the catalog ({type(exc).__name__}); run migrate to record scans")
            return self._scan_unrecorded(path, sample, seed, progress)
        self.stderr.write(f"scan {run.pk}: scanning {run.location}")
        run = self._execute(run, progress)
        if run.status != "succeeded":
            raise CommandError(f"scan {run.pk} {run.status}: {run.error}")
        if asset is not None:
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

    def _execute(self, run, progress):
        """``scan_execute`` here; whatever escapes it (a crash, Ctrl-C) still ends the run as failed with
        its audit event, and the user gets one line (the traceback only with ``--traceback``)."""
        from compliance.scanning import services

        try:
            return services.scan_execute(run_id=run.pk, fan_out=False, progress=progress)
        except KeyboardInterrupt:
            self._fail(run, "interrupted")
            raise CommandError(f"scan {run.pk} failed: interrupted") from None
        except Exception as exc:
            reason = f"{type(exc).__name__} while scanning"
            self._fail(run, reason)
            if self.traceback:
                raise
            raise CommandError(f"scan {run.pk} failed: {reason} (--traceback shows where)") from None

    def _fail(self, run, reason: str) -> None:
        from compliance.scanning import services

        try:
            services.scan_fail(run_id=run.pk, error=reason)
        except Exception as exc:  # the database itself is gone: say so, keep the first error
            self.stderr.write(f"scan {run.pk}: could not record the failure ({type(exc).__name__})")

    def _scan_unrecorded(self, path: str, sample: int, seed: int, progress) -> dict:
        from compliance.datasets.sources import SourceError
        from compliance.scanning.scanner import scan_path

        try:
            result = scan_path(path, sample_size=sample, seed=seed, progress=progress)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:  # the datasets rule refused the location
            raise CommandError("; ".join(exc.messages)) from None
        except Exception as exc:
            if self.traceback:
                raise
            raise CommandError(f"cannot scan {path}: {type(exc).__name__} (--traceback shows where)") from None
        return result.as_json()

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
