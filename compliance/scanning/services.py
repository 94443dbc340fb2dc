"""Every write of PII scanning. Each function validates, saves and appends its audit event in one
transaction; the API views, the admin action, ``manage.py scan`` and the Celery tasks only call these
(one service per operation: a scan is ``scan_start`` then ``scan_execute``, whoever asks).

Permissions are checked here, with the actor as an argument (``accounts.permissions.require``):
``scan_start`` needs ``add`` and an asset the actor may see (a restricted asset needs
``view_restricted``); ``scan_cancel`` needs ``change`` on a run the actor may see;
``scan_execute`` checks the user who started the run again when a worker picks it up (a role
withdrawn meanwhile fails the run instead of scanning). A ``str`` actor is a system component run
by an operator (``"command:scan"``, ``"system:demo"``) and is allowed.

Audited actions: ``scanning.scan.start``, ``.run`` (the source was opened and split), ``.chunk``
(one chunk's sample analysed), ``.finish``, ``.fail``, ``.cancel``; the catalog writes a scan makes
(columns, suggested classifications, withdrawn stale suggestions) are audited by catalog.services.
Details hold ids, counts and entity types, never cell values or file contents.

Where data lives is decided by ``compliance.datasets`` alone: a run of an asset re-resolves the
asset (``resolve_asset``) and a run of a location re-resolves the location, at start and again every
time a chunk is opened, so an asset whose location was changed to somewhere refused (Custos's own
database, outside the data roots) fails instead of being read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.permissions import ADD, CHANGE, VIEW, require
from audit.services import record
from catalog import services as catalog_services
from catalog.choices import ClassificationSource, ClassificationState, Sensitivity
from catalog.models import Classification, DataAsset
from compliance import datasets
from compliance.scanning.choices import FINISHED, ChunkStatus, ScanStatus
from compliance.scanning.detect import special
from compliance.scanning.engine import EU_NATIONAL_IDS
from compliance.scanning.models import ScanChunk, ScanRun
from core.types import Actor

logger = logging.getLogger(__name__)

SCANNER = "system:scanner"
CREDENTIALS_IN_URL = re.compile(r"://[^/\s@]+:[^/\s@]*@")
# Entity types whose confirmed presence makes an asset restricted rather than confidential: government
# and financial identifiers (the European national identification numbers too) and the GDPR Art. 9
# special categories.
RESTRICTED_TYPES = {
    "US_SSN",
    "CREDIT_CARD",
    "US_BANK_NUMBER",
    "IBAN_CODE",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "MEDICAL_RECORD_NUMBER",
    "UK_NHS",
    "NRP",
    *EU_NATIONAL_IDS,
    *special.CATEGORIES,
}


class ScanCancelled(Exception):
    """The run was cancelled while a chunk was being read."""


def default_chunk_rows() -> int:
    return int(getattr(settings, "CUSTOS_SCAN_CHUNK_ROWS", 250_000))


def asset_location(asset: DataAsset) -> str:
    """The location string a run of ``asset`` records (checked by the datasets rule; never a secret):
    the asset's ``location``, or ``source:<name>#<qualified name>`` for a registered data source."""
    loc = datasets.resolve_asset(asset)
    if asset.location:
        return asset.location
    return f"source:{quote(loc.source or '', safe='')}#{asset.qualified_name}"


def run_location(run: ScanRun) -> datasets.Location:
    """The run's data, re-resolved now: by asset when the run has one, else by its location."""
    if run.asset_id:
        return datasets.resolve_asset(run.asset)
    return datasets.resolve(run.location)


def _check_location(location: str) -> None:
    if not location:
        raise ValidationError({"location": "a file path, sqlite:///file.db#table or source:<name>#table is required"})
    try:
        datasets.resolve(location)
    except datasets.LocationRefused as exc:
        raise ValidationError({"location": exc.messages}) from None


def _actor_of(run: ScanRun) -> Any:
    return run.started_by if run.started_by_id else SCANNER


def _require_scan(actor: Actor | str, asset: DataAsset | None) -> None:
    """``add`` on scans, and (for a user) an asset the user may see; refusals never name the asset."""
    require(actor, ADD, "scans")
    visible = DataAsset.objects.restrict(actor, VIEW) if not isinstance(actor, str) else None
    if asset is not None and visible is not None and not visible.filter(pk=asset.pk).exists():
        raise PermissionDenied("you may not scan this asset")


# --- start, cancel --------------------------------------------------------------------------------


def scan_start(
    *,
    actor: Actor | str,
    asset: DataAsset | None = None,
    location: str = "",
    sample_size: int = 1000,
    seed: int = 0,
    column_hints: bool = True,
    chunk_rows: int | None = None,
    dispatch: bool = True,
) -> ScanRun:
    """Queue a scan of ``asset`` (its location) or of ``location``; the Celery task starts after commit.

    With ``dispatch=False`` the caller runs it (``scan_execute``) in-process, e.g. the command.
    Raises ``PermissionDenied`` (see the module doc) or ``ValidationError`` (a refused location).
    """
    _require_scan(actor, asset)
    if asset is not None:
        # By asset, the asset's own location is the one read (a caller cannot name another one).
        try:
            own = asset_location(asset)
        except datasets.LocationRefused as exc:
            raise ValidationError({"asset": exc.messages}) from None
        if location and location != own:
            raise ValidationError({"location": "give an asset or a location, not both: an asset is read where it lives"})
        location = own
    else:
        _check_location(location)
    with transaction.atomic():
        run = ScanRun(
            asset=asset,
            location=location,
            sample_size=sample_size,
            seed=seed,
            column_hints=column_hints,
            chunk_rows=chunk_rows or default_chunk_rows(),
            started_by=actor if getattr(actor, "pk", None) else None,
        )
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="scanning.scan.start",
            target=run,
            details={"asset_id": asset.pk if asset else None, "sample_size": sample_size, "seed": seed},
        )
        if dispatch:
            from compliance.scanning import tasks

            run_id = run.pk
            transaction.on_commit(lambda: tasks.scan_run.delay(run_id))
    return run


def scan_cancel(*, run: ScanRun, actor: Actor | str, reason: str = "") -> ScanRun:
    """Stop a queued or running scan: pending chunks are skipped, a chunk being read stops at its next batch.

    Needs ``change``; a run the actor may not see (its asset is restricted) is refused as not found.
    """
    require(actor, CHANGE, "scans")
    if not isinstance(actor, str) and not ScanRun.objects.restrict(actor, CHANGE).filter(pk=run.pk).exists():
        raise PermissionDenied("no such scan")
    with transaction.atomic():
        run = ScanRun.objects.select_for_update().get(pk=run.pk)
        if run.status in FINISHED:
            raise ValidationError(f"the scan is already {run.status}")
        old = run.status
        run.status = ScanStatus.CANCELLED
        run.finished_at = timezone.now()
        run.full_clean()
        run.save(update_fields=["status", "finished_at"])
        record(
            actor=actor,
            action="scanning.scan.cancel",
            target=run,
            reason=reason,
            details={"status": {"from": old, "to": ScanStatus.CANCELLED}},
        )
    return run


def scan_fail(*, run_id: int, error: str, actor: Any = SCANNER) -> ScanRun | None:
    """Mark a run failed with ``error`` (a message that never quotes cell values)."""
    with transaction.atomic():
        run = ScanRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in FINISHED:
            return run
        run.status = ScanStatus.FAILED
        run.error = error[:2000]
        run.finished_at = timezone.now()
        if run.started_at:
            run.seconds = (run.finished_at - run.started_at).total_seconds()
        run.full_clean()
        run.save()
        record(actor=actor, action="scanning.scan.fail", target=run, details={"error": error[:200]})
    return run


# --- execution ------------------------------------------------------------------------------------


def scan_execute(*, run_id: int, fan_out: bool = True, progress: Callable[[int, int | None], None] | None = None) -> ScanRun:
    """Open the run's source, split it into chunks and scan them: as Celery tasks (``fan_out``) or here.

    Idempotent: a redelivered task finds the run already split and only re-dispatches pending chunks.
    ``progress(rows_read, rows_total)`` is called after each batch when the chunks run here.
    """
    from compliance.datasets.sources import SourceError, open_source

    run = ScanRun.objects.select_related("asset", "started_by").get(pk=run_id)
    if run.status in FINISHED:
        return run
    try:
        # the starter is checked again: a role withdrawn since the run was queued stops it here
        _require_scan(_actor_of(run), run.asset)
    except PermissionDenied as exc:
        return scan_fail(run_id=run_id, error=f"refused: {exc}")
    try:
        source = open_source(run_location(run))
        specs = source.chunks(target_rows=run.chunk_rows)
    except (SourceError, ValueError, OSError, ValidationError) as exc:
        return scan_fail(run_id=run_id, error=_safe_error(exc))
    with transaction.atomic():
        run = ScanRun.objects.select_for_update().get(pk=run_id)
        if run.status in FINISHED:
            return run
        if run.status == ScanStatus.QUEUED:
            run.status = ScanStatus.RUNNING
            run.started_at = timezone.now()
            run.rows_total = source.rows_total
            run.chunks_total = len(specs)
            run.full_clean()
            run.save()
            for spec in specs:
                ScanChunk.objects.get_or_create(run=run, index=spec.index, defaults={"spec": spec.as_dict()})
            record(
                actor=_actor_of(run),
                action="scanning.scan.run",
                target=run,
                details={"chunks": len(specs), "rows_total": source.rows_total, "source_kind": source.kind},
            )
        pending = list(run.chunks.filter(status=ChunkStatus.PENDING).values_list("index", flat=True))
        if fan_out:
            from compliance.scanning import tasks

            transaction.on_commit(lambda: [tasks.scan_chunk.delay(run_id, index) for index in pending])
    if not fan_out:
        for index in pending:
            scan_chunk_execute(run_id=run_id, index=index, progress=progress)
        run.refresh_from_db()
    return run


def scan_chunk_execute(*, run_id: int, index: int, progress: Callable[[int, int | None], None] | None = None) -> ScanChunk | None:
    """Scan one chunk and store its result once; the last chunk to finish merges the run.

    A task redelivered after a worker died either finds the chunk done (nothing to do) or recomputes
    it; counts are re-summed from done chunks, never incremented, so nothing is counted twice.
    """
    from compliance.datasets.sources import ChunkSpec, SourceError, open_source
    from compliance.scanning.analysis import scan_chunk

    chunk = ScanChunk.objects.select_related("run").filter(run_id=run_id, index=index).first()
    if chunk is None or chunk.status == ChunkStatus.DONE or chunk.run.status in FINISHED:
        if chunk is not None and chunk.run.status == ScanStatus.RUNNING:
            _maybe_finalize(run_id)
        return chunk
    run = chunk.run
    with transaction.atomic():
        # Counted before the work: a second attempt in the ledger is a redelivered (retried) chunk.
        chunk = ScanChunk.objects.select_for_update().get(pk=chunk.pk)
        chunk.attempts += 1
        chunk.save(update_fields=["attempts", "updated_at"])
        record(
            actor=_actor_of(run),
            action="scanning.scan.chunk_start",
            target=run,
            details={"chunk": index, "attempt": chunk.attempts},
        )
    started = time.perf_counter()
    last_check = [time.monotonic()]
    rows_read = [0]

    def check_cancelled(rows: int) -> None:
        if progress is not None:
            rows_read[0] += rows
            progress(rows_read[0], run.rows_total)
        if time.monotonic() - last_check[0] >= 1.0:
            last_check[0] = time.monotonic()
            if ScanRun.objects.filter(pk=run_id, status=ScanStatus.CANCELLED).exists():
                raise ScanCancelled

    spec = chunk.spec
    try:
        source = open_source(run_location(run))
        result = scan_chunk(
            source,
            ChunkSpec(spec["index"], spec["start"], spec["stop"], spec.get("rows")),
            k=_chunk_sample_size(run, spec),
            seed=run.seed,
            column_hints=run.column_hints,
            on_batch=check_cancelled,
        )
    except ScanCancelled:
        return chunk
    except (SourceError, ValueError, OSError, UnicodeDecodeError, ValidationError) as exc:
        scan_fail(run_id=run_id, error=f"chunk {index}: {_safe_error(exc)}")
        return chunk
    with transaction.atomic():
        chunk = ScanChunk.objects.select_for_update().get(pk=chunk.pk)
        run = ScanRun.objects.select_for_update().get(pk=run_id)
        if chunk.status == ChunkStatus.DONE or run.status in FINISHED:
            return chunk
        chunk.status = ChunkStatus.DONE
        chunk.result = result
        chunk.rows = result["rows"]
        chunk.seconds = round(time.perf_counter() - started, 3)
        chunk.full_clean()
        chunk.save()
        done = run.chunks.filter(status=ChunkStatus.DONE)
        run.chunks_done = done.count()
        run.rows_scanned = done.aggregate(total=Sum("rows"))["total"] or 0
        run.progress = round(min(1.0, run.chunks_done / max(run.chunks_total, 1)), 4)
        run.full_clean()
        run.save(update_fields=["chunks_done", "rows_scanned", "progress"])
        record(
            actor=_actor_of(run),
            action="scanning.scan.chunk",
            target=run,
            details={"chunk": index, "rows": chunk.rows, "chunks_done": run.chunks_done, "chunks_total": run.chunks_total},
        )
    _maybe_finalize(run_id)
    return chunk


def _chunk_sample_size(run: ScanRun, spec: dict[str, Any]) -> int:
    """Each chunk samples its proportional share of k (with slack): the merge keeps the k smallest keys."""
    if run.chunks_total <= 1 or not run.rows_total or not spec.get("rows"):
        return run.sample_size
    share = spec["rows"] / run.rows_total
    return min(run.sample_size, int(run.sample_size * share * 1.5) + 50)


def _maybe_finalize(run_id: int) -> None:
    if not ScanChunk.objects.filter(run_id=run_id, status=ChunkStatus.PENDING).exists():
        scan_finalize(run_id=run_id)


def scan_finalize(*, run_id: int) -> ScanRun:
    """Merge the chunks, decide the findings and, for an asset, write suggested classifications.

    Runs once: the run row is locked and only a running run with every chunk done is finalized.
    Re-scans keep steward decisions (``classification_suggest`` refreshes evidence only) and
    withdraw the run's earlier undecided scan suggestions the new scan no longer supports.
    """
    from compliance.scanning.scanner import result_from_chunks

    with transaction.atomic():
        run = ScanRun.objects.select_for_update().get(pk=run_id)
        if run.status != ScanStatus.RUNNING or run.chunks.filter(status=ChunkStatus.PENDING).exists():
            return run
        chunks = [c.result for c in run.chunks.order_by("index") if c.result]
        finished = timezone.now()
        result = result_from_chunks(
            chunks,
            source=run.location,
            rows_total=run.rows_total,
            sample_size=run.sample_size,
            seed=run.seed,
            seconds=(finished - run.started_at).total_seconds() if run.started_at else 0.0,
            column_hints=run.column_hints,
        )
        actor = _actor_of(run)
        written = _write_classifications(run, result, actor) if run.asset_id else 0
        run.findings = result.as_findings()
        run.rows_total = result.rows_total
        run.rows_sampled = result.rows_sampled
        run.rows_scanned = sum(c["rows"] for c in chunks)
        run.classifications_written = written
        run.status = ScanStatus.SUCCEEDED
        run.progress = 1.0
        run.finished_at = finished
        run.seconds = round(result.seconds, 3)
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="scanning.scan.finish",
            target=run,
            details={
                "asset_id": run.asset_id,
                "rows_total": run.rows_total,
                "rows_sampled": run.rows_sampled,
                "columns": len(result.columns),
                "columns_with_pii": sum(1 for c in result.columns if c.entities),
                "entity_types": sorted({e.type for c in result.columns for e in c.entities}),
                "classifications_written": written,
            },
        )
    return run


def _write_classifications(run: ScanRun, result, actor: Any) -> int:
    asset = run.asset
    columns = catalog_services.columns_sync(
        asset=asset,
        columns=[{"name": c.name, "data_type": c.dtype, "position": i} for i, c in enumerate(result.columns)],
        actor=actor,
    )
    written = 0
    found: set[tuple[int, str]] = set()
    for column_result in result.columns:
        column = columns[column_result.name]
        for entity in column_result.entities:
            catalog_services.classification_suggest(
                column=column,
                entity_type=entity.type,
                source=ClassificationSource.SCAN,
                actor=actor,
                confidence=float(entity.confidence),
                sensitivity=Sensitivity.RESTRICTED if entity.type in RESTRICTED_TYPES else Sensitivity.CONFIDENTIAL,
                evidence={
                    "scan_run": run.pk,
                    "share": entity.share,
                    "recognizers": list(entity.recognizers),
                    "name_hint_used": entity.name_hint_used,
                    "sampled": column_result.sampled,
                    "nonnull": column_result.nonnull,
                },
            )
            found.add((column.pk, entity.type))
            written += 1
    stale = Classification.objects.filter(
        column__asset=asset,
        column__name__in=[c.name for c in result.columns],
        source=ClassificationSource.SCAN,
        state=ClassificationState.SUGGESTED,
        decided_at__isnull=True,
    )
    for classification in stale:
        if (classification.column_id, classification.entity_type) not in found:
            catalog_services.classification_withdraw(
                classification=classification, actor=actor, reason=f"not found by scan {run.pk}"
            )
    return written


def _safe_error(exc: Exception) -> str:
    """An error message for the run: our own SourceError messages are value-free; others are named only."""
    from compliance.datasets.sources import SourceError

    if isinstance(exc, SourceError | ValidationError):
        return str(exc.messages[0] if isinstance(exc, ValidationError) else exc)
    return f"{type(exc).__name__} while reading the source"
