"""Ledger citations: the events of the exported range that evidence records cite as
``"ledger": {"seq", "leaf_hash"}`` (only events inside the range, so the verifier can check each)."""

from __future__ import annotations

from typing import Any

from audit import verify_core
from audit.models import AuditEvent
from compliance.evidence.collect.snapshot import Scope, Snapshot, iso

ACCESS_ACTIONS = ("policies.access.decide", "policies.asset.sample_read")
DEANONYMIZATION_ACTIONS = ("policies.token.reveal", "policies.token.reveal_denied")
GRANT_ACTIONS = ("policies.grant.request", "policies.grant.approve", "policies.grant.reject", "policies.grant.revoke")
RUN_ACTIONS = (
    "policies.retention.start",
    "policies.retention.finish",
    "policies.retention.delete_rows",
    "policies.retention.anonymize_rows",
    "policies.retention.archive",
    "policies.retention.flag",
    "policies.retention.blocked",
    "policies.anonymization.start",
    "policies.anonymization.finish",
    "policies.anonymization.fail",
    "scanning.scan.start",
    "scanning.scan.finish",
    "scanning.scan.fail",
    "scanning.scan.cancel",
)
EXPORT_ACTIONS = ("evidence.export.request", "evidence.export.complete", "evidence.export.fail", "evidence.export.download")


def range_events(scope: Scope, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Events of ``actions`` inside the exported ledger range, oldest first, each with its citation."""
    rows = (
        AuditEvent.objects.filter(entry__seq__gte=scope.rng.first_seq, entry__seq__lt=scope.rng.end_seq, action__in=actions)
        .order_by("entry__seq")
        .values(
            "action",
            "target_type",
            "target_id",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_name",
            "reason",
            "details",
            "entry__seq",
            "leaf_hash",
        )
    )
    out = []
    # Fetched whole (not through a server-side cursor, whose first-rows plan walks the range in seq
    # order on PostgreSQL instead of using the action index): the list is built in memory anyway.
    for row in rows:
        out.append(
            {
                "action": row["action"],
                "time": iso(row["occurred_at"]),
                "actor": row["actor_name"] or f"{row['actor_type']}:{row['actor_id']}",
                "target": f"{row['target_type']}:{row['target_id']}",
                "target_type": row["target_type"],
                "target_id": row["target_id"],
                "reason": row["reason"],
                "details": row["details"],
                "ledger": {"seq": row["entry__seq"], "leaf_hash": verify_core.b64(bytes(row["leaf_hash"]))},
            }
        )
    return out


def asset_of_event(event: dict) -> int | None:
    if event["target_type"] == "catalog.dataasset":
        return int(event["target_id"])
    value = (event.get("details") or {}).get("asset_id")
    return int(value) if isinstance(value, int) else None


def keep_asset(snap: Snapshot, asset_id: int | None) -> bool:
    if not snap.scope.filtered:
        return True
    return asset_id is not None and asset_id in snap.assets and snap.in_scope(asset_id)


def cite(event: dict) -> dict:
    return {"action": event["action"], "time": event["time"], "actor": event["actor"], "ledger": event["ledger"]}
