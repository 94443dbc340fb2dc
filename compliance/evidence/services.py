"""Evidence exports: ask for one, build it, fail it, hand it out. Every step that matters is a
ledger event in the same transaction as the row change:

* ``evidence.export.request`` when an export is asked for (it then lies inside the range the
  bundle covers when the period runs to "now");
* ``evidence.export.complete`` (with the zip's and the manifest's SHA-256 and the ledger range) or
  ``evidence.export.fail`` when the build ends;
* ``evidence.export.download`` each time the bundle is handed out (exports are reads of
  sensitive metadata).

Progress ticks (``progress``, ``stage``) are written without an event: they describe the build,
not the estate, and would otherwise flood the ledger.

Who may export (docs/evidence.md, "Who may export"): an actor holding the ``export`` action of the
role matrix -- auditors and admins. Stewards do not: the evidence documents stewards' decisions,
and the export is the independent reader's step. The rule is checked here, by every service, so
the API, the admin, ``evidence_export --user`` and the Celery task give the same answer; a system
component (a string actor: ``evidence_export`` run without ``--user`` by an operator who already
holds the server's shell and database) is a trusted caller. The build re-checks the requester, so
an export asked for by someone who lost the role before the worker ran is failed, not built.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import EXPORT, require, role_of, user_can
from audit.services import actor_fields, record
from catalog.models import DataAsset
from compliance.evidence import bundle
from compliance.evidence.choices import ExportStatus
from compliance.evidence.models import EvidenceExport
from compliance.policies.models import RegulationPack

if TYPE_CHECKING:
    from core.types import Actor

logger = logging.getLogger(__name__)


def export_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "evidence"


WHAT = "evidence"


def require_exporter(actor: Actor | str) -> None:
    """The one export rule: ``export`` in the role matrix (auditor, admin), or a system component
    named by a string. Raises ``PermissionDenied("<role> may not export evidence")``."""
    if isinstance(actor, str) and actor:
        return
    require(actor, EXPORT, WHAT)


def export_request(
    *,
    actor: Actor | str,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    regulation: str = "",
    asset_ids: list[int] | None = None,
    run_async: bool = True,
    file_path: str = "",
) -> EvidenceExport:
    """Record an export request (``evidence.export.request``) and, with ``run_async``, queue the
    build on Celery after commit. ``period_to`` in the future is refused (evidence cannot describe
    a moment that has not happened). Refused (``PermissionDenied``) unless ``require_exporter``."""
    require_exporter(actor)
    asset_ids = sorted(set(asset_ids or []))
    if period_to is not None and period_to > timezone.now():
        raise ValidationError({"period_to": "the period cannot end in the future"})
    if regulation and not RegulationPack.objects.filter(code=regulation).exists():
        raise ValidationError({"regulation": "no regulation pack with this code"})
    if asset_ids and DataAsset.objects.filter(pk__in=asset_ids).count() != len(asset_ids):
        raise ValidationError({"asset_ids": "unknown asset id(s)"})
    who = actor_fields(actor)
    with transaction.atomic():
        export = EvidenceExport(
            started_by=actor if getattr(actor, "pk", None) else None,
            requested_by_name=who["actor_name"],
            period_from=period_from,
            period_to=period_to,
            regulation=regulation or "",
            asset_ids=asset_ids,
            file_path=file_path,
        )
        export.full_clean()
        export.save()
        record(
            actor=actor,
            action="evidence.export.request",
            target=export,
            details={
                "period_from": period_from,
                "period_to": period_to,
                "regulation": regulation or None,
                "asset_ids": asset_ids,
            },
        )
        if run_async:
            from compliance.evidence.tasks import export_build

            export_build.delay_on_commit(export.pk)
    return export


def _progress(export_id: int, fraction: float, stage: str) -> None:
    EvidenceExport.objects.filter(pk=export_id).update(progress=round(min(max(fraction, 0.0), 1.0), 4), stage=stage[:100])


def export_build(*, export_id: int) -> EvidenceExport:
    """Build the bundle of a queued export (run by the Celery task and the command)."""
    from audit.sequencer import sequence_pending

    with transaction.atomic():
        export = EvidenceExport.objects.select_for_update().get(pk=export_id)
        stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
        crashed = export.status == ExportStatus.RUNNING and export.started_at is not None and export.started_at < stale
        if export.status != ExportStatus.QUEUED and not crashed:
            return export  # a redelivered task while the first delivery still builds, or a finished export
        requester = export.started_by
        if requester is not None and not user_can(requester, EXPORT):
            refused = f"PermissionDenied: {role_of(requester) or 'an inactive account'} may no longer export {WHAT}"
            return export_fail(export_id=export.pk, error=refused)
        export.status, export.started_at, export.stage = ExportStatus.RUNNING, timezone.now(), "starting"
        export.save(update_fields=["status", "started_at", "stage"])
    sequence_pending()  # the request event (and everything before it) gets its place in the log
    previous = (
        EvidenceExport.objects.filter(status=ExportStatus.SUCCEEDED)
        .exclude(pk=export.pk)
        .exclude(checkpoint_note="")
        .order_by("-finished_at", "-id")
        .first()
    )
    out = Path(export.file_path) if export.file_path else export_dir() / f"custos-evidence-{export.pk}.zip"
    request = bundle.Request(
        export_id=export.pk,
        requested_by={"name": export.requested_by_name, "id": str(export.started_by_id or "")},
        period_from=export.period_from,
        period_to=export.period_to,
        regulation=export.regulation,
        asset_ids=list(export.asset_ids),
    )
    try:
        result = bundle.build(
            request,
            out,
            progress=lambda fraction, stage: _progress(export.pk, fraction, stage),
            previous_checkpoint=previous.checkpoint_note if previous else None,
        )
    except Exception as exc:
        logger.exception("evidence export %s failed", export.pk)
        return export_fail(export_id=export.pk, error=f"{type(exc).__name__}: {exc}"[:500])
    with transaction.atomic():
        export = EvidenceExport.objects.select_for_update().get(pk=export_id)
        export.status = ExportStatus.SUCCEEDED
        export.progress, export.stage = 1.0, "done"
        export.file_path = str(result.path)
        export.size, export.sha256, export.manifest_sha256 = result.size, result.sha256, result.manifest_sha256
        export.first_seq, export.end_seq = result.first_seq, result.end_seq
        export.checkpoint_note, export.verifier_key, export.as_of = result.checkpoint_note, result.verifier_key, result.as_of
        export.finished_at = timezone.now()
        export.full_clean()
        export.save()
        record(
            actor="evidence",
            action="evidence.export.complete",
            target=export,
            details={
                "sha256": result.sha256,
                "manifest_sha256": result.manifest_sha256,
                "first_seq": result.first_seq,
                "end_seq": result.end_seq,
                "files": result.files,
                "size": result.size,
            },
        )
    return export


def export_fail(*, export_id: int, error: str) -> EvidenceExport:
    """Mark an export failed with a reason (exception type and message: no data values reach it)."""
    with transaction.atomic():
        export = EvidenceExport.objects.select_for_update().get(pk=export_id)
        if export.status == ExportStatus.SUCCEEDED:
            return export
        export.status, export.error, export.finished_at, export.stage = ExportStatus.FAILED, error, timezone.now(), "failed"
        export.full_clean()
        export.save()
        record(actor="evidence", action="evidence.export.fail", target=export, details={"error": error.split(":", 1)[0]})
    return export


def export_download(*, export: EvidenceExport, actor: Actor | str) -> Path:
    """The bundle's path for handing out, after recording ``evidence.export.download``. Any
    exporter may download any export (exports are not private to whoever asked)."""
    require_exporter(actor)
    if export.status != ExportStatus.SUCCEEDED or not export.file_path:
        raise ValidationError("the export is not ready")
    path = Path(export.file_path)
    if not path.exists():
        raise ValidationError("the bundle file is no longer on disk")
    with transaction.atomic():
        record(actor=actor, action="evidence.export.download", target=export, details={"sha256": export.sha256})
    return path
