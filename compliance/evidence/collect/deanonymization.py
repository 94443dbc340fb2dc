"""Section ``evidence/deanonymization.json``: token reveals and refused reveals of the period."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.citations import (
    DEANONYMIZATION_ACTIONS,
    asset_of_event,
    keep_asset,
    range_events,
)
from compliance.evidence.collect.snapshot import Snapshot


def deanonymization(snap: Snapshot) -> dict[str, Any]:
    """Every token reveal (de-anonymization) and refused reveal in the period, from the ledger.
    Tokens appear only as the keyed digest the event recorded, never in clear."""
    events = [
        e
        for e in range_events(snap.scope, DEANONYMIZATION_ACTIONS)
        if not snap.scope.filtered or keep_asset(snap, asset_of_event(e))
    ]
    return {
        "view": snap.scope.view_label(),
        "summary": {
            "reveals": sum(1 for e in events if e["action"] == "policies.token.reveal"),
            "refused": sum(1 for e in events if e["action"].endswith("denied")),
        },
        "events": events,
    }
