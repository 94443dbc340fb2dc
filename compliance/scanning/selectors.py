"""Reads of PII scanning, scoped by ``restrict(user, action)``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from compliance.scanning.models import ScanRun


def scan_list(*, user: Any) -> QuerySet[ScanRun]:
    return ScanRun.objects.restrict(user).select_related("asset", "asset__source", "started_by")
