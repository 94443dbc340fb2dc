"""Reads of evidence exports. Admins see every export; others the ones they asked for."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.choices import Role
from accounts.permissions import EXPORT, role_of, user_can
from compliance.evidence.models import EvidenceExport


def export_list(*, user: Any) -> QuerySet[EvidenceExport]:
    qs = EvidenceExport.objects.select_related("requested_by")
    if role_of(user) == Role.ADMIN:
        return qs
    if not user_can(user, EXPORT) and role_of(user) != Role.STEWARD:
        return qs.none()
    return qs.filter(requested_by=user)
