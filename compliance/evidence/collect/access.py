"""Section ``evidence/access.json``: access decisions and data reads of the period, and the
access grants as of the date."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from accounts.models import User
from compliance.evidence.collect.citations import (
    ACCESS_ACTIONS,
    GRANT_ACTIONS,
    asset_of_event,
    cite,
    keep_asset,
    range_events,
)
from compliance.evidence.collect.snapshot import Snapshot, as_of, iso
from compliance.policies.models import (
    AccessGrant,
)


def access(snap: Snapshot) -> dict[str, Any]:
    """Access decisions and data reads in the period (from the ledger), and the access grants as
    of the date with the grant events of the period."""
    decisions = [e for e in range_events(snap.scope, ACCESS_ACTIONS) if keep_asset(snap, asset_of_event(e))]
    for event in decisions:
        event["asset"] = snap.asset_name(asset_of_event(event))
    grant_events: dict[str, list[dict]] = defaultdict(list)
    for event in range_events(snap.scope, GRANT_ACTIONS):
        grant_events[event["target_id"]].append(event)
    usernames = dict(User.objects.values_list("pk", "username"))
    grants = []
    for pk, g in sorted(
        as_of(
            AccessGrant,
            snap.scope.at,
            ("user_id", "asset_id", "purpose", "effect", "state", "valid_from", "valid_until", "decided_at", "decided_by_id"),
        ).items()
    ):
        if not keep_asset(snap, g["asset_id"]):
            continue
        grants.append(
            {
                "id": pk,
                "user": usernames.get(g["user_id"], f"user {g['user_id']}"),
                "asset_id": g["asset_id"],
                "asset": snap.asset_name(g["asset_id"]),
                "purpose": g["purpose"],
                "effect": g["effect"],
                "state": g["state"],
                "valid_from": iso(g["valid_from"]),
                "valid_until": iso(g["valid_until"]),
                "decided_by": usernames.get(g["decided_by_id"]) if g["decided_by_id"] else None,
                "decided_at": iso(g["decided_at"]),
                "events": [cite(e) for e in grant_events.get(str(pk), [])],
            }
        )
    effects = Counter((e["details"] or {}).get("effect") for e in decisions if e["action"] == "policies.access.decide")
    return {
        "view": snap.scope.view_label(),
        "summary": {"decisions": sum(effects.values()), "by_effect": dict(sorted((k or "?", v) for k, v in effects.items()))},
        "decisions": decisions,
        "grants": grants,
    }
