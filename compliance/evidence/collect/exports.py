"""Section ``evidence/exports.json``: earlier evidence exports and downloads recorded in the range."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.citations import (
    EXPORT_ACTIONS,
    range_events,
)
from compliance.evidence.collect.snapshot import Snapshot


def exports(snap: Snapshot) -> dict[str, Any]:
    """Earlier evidence exports and downloads recorded in the range (exports are audited too)."""
    return {"view": snap.scope.view_label(), "events": range_events(snap.scope, EXPORT_ACTIONS)}
