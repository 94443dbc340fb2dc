"""Evidence exports: one row per bundle asked for, with its parameters, progress and outcome.

Written only by ``compliance.evidence.services``. The bundle itself is a file (``file_path``);
the row keeps what a later export needs to prove continuity: the ledger range and the signed
checkpoint the bundle ends at.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from accounts.permissions import EXPORT, user_can
from core.choices import RunStatus
from core.models import Run
from core.querysets import RestrictedQuerySet


class EvidenceExportQuerySet(RestrictedQuerySet):
    """Exports are scoped by the one export rule: whoever may export (``export`` in the role
    matrix: auditors and admins) sees every export, whoever made it (API, admin, the command, a
    task); everyone else sees none. ``action`` is accepted for the base viewset's call shape; every
    read of an export is an exporter's read, so it does not widen anything."""

    def restrict(self, user: Any, action: str = EXPORT) -> EvidenceExportQuerySet:
        return self if user_can(user, EXPORT) else self.none()


class EvidenceExport(Run):
    """One evidence bundle: the period and filters asked for, who asked, where it stands, and
    (once built) the file, its digest, the ledger range ``[first_seq, end_seq)`` and the signed
    checkpoint at ``end_seq``.

    A ``core.models.Run``: ``status`` (``RunStatus``), ``progress``, ``error`` (never data values),
    ``started_at``/``finished_at`` of the build, and ``started_by`` -- the user who asked for the
    export (kept in the table's ``requested_by_id`` column; ``requested_by`` reads it too)."""

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_column="requested_by_id",
        help_text="Who asked for the export (empty: a system component, named in requested_by_name).",
    )
    requested_by_name = models.CharField(max_length=150, help_text="User name, or the system component that asked.")
    requested_at = models.DateTimeField(auto_now_add=True)
    period_from = models.DateTimeField(null=True, blank=True, help_text="Start of the period (empty: the log's beginning).")
    period_to = models.DateTimeField(null=True, blank=True, help_text="End of the period and as-of date (empty: export time).")
    regulation = models.CharField(max_length=50, blank=True, help_text="Narrow the evidence views to one regulation pack.")
    asset_ids = models.JSONField(default=list, blank=True, help_text="Narrow the evidence views to these assets.")
    stage = models.CharField(max_length=100, blank=True, help_text="What the builder is doing now.")
    file_path = models.CharField(max_length=1000, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the zip file.")
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="The moment the evidence describes.")
    first_seq = models.BigIntegerField(null=True, blank=True)
    end_seq = models.BigIntegerField(null=True, blank=True, help_text="Exclusive end of the ledger range = checkpoint tree size.")
    checkpoint_note = models.TextField(blank=True, help_text="The signed C2SP checkpoint at end_seq.")
    verifier_key = models.CharField(max_length=200, blank=True)

    objects = EvidenceExportQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="evidence_export_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="evidence_export_progress_0_1"),
            models.CheckConstraint(
                condition=Q(period_from__isnull=True) | Q(period_to__isnull=True) | Q(period_from__lte=models.F("period_to")),
                name="evidence_export_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"evidence export {self.pk} ({self.status})"

    def clean(self) -> None:
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValidationError({"period_to": "the period ends before it starts"})
        if not isinstance(self.asset_ids, list) or not all(isinstance(a, int) for a in self.asset_ids):
            raise ValidationError({"asset_ids": "must be a list of asset ids"})

    @property
    def requested_by(self):
        """The user who asked (``started_by``): the name the API, admin and tests have always used."""
        return self.started_by

    @property
    def filtered(self) -> bool:
        return bool(self.regulation or self.asset_ids)
