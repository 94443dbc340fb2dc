"""Reads of evidence exports: every exporter (auditor, admin) sees every export, whichever entry
point made it; nobody else sees any (``EvidenceExport.objects.restrict``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from accounts.permissions import EXPORT
from compliance.evidence.models import EvidenceExport

if TYPE_CHECKING:
    from core.types import Actor


def export_list(*, user: Actor) -> QuerySet[EvidenceExport]:
    return EvidenceExport.objects.restrict(user, EXPORT).select_related("started_by")
