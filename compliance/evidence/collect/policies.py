"""Section ``evidence/policies.json``: regulation packs, rule overrides and policies in force."""

from __future__ import annotations

from typing import Any

from compliance.evidence.collect.snapshot import Snapshot, as_of, iso
from compliance.policies.models import (
    RegulationRule,
)


def policies_in_force(snap: Snapshot) -> dict[str, Any]:
    """Regulation packs (with versions and rule overrides) and the enabled policies, as of the date."""
    packs = [
        {
            "code": p["code"],
            "name": p["name"],
            "version": p["version"],
            "citation": p["citation"],
            "enabled": p["enabled"],
            "since": iso(p["_changed_at"]),
        }
        for p in sorted(snap.packs.values(), key=lambda p: p["code"])
        if not snap.scope.regulation or p["code"] == snap.scope.regulation
    ]
    rules = as_of(
        RegulationRule, snap.scope.at, ("code", "pack_id", "severity", "enabled", "overridden", "override_reason", "citation")
    )
    overrides = [
        {
            "code": r["code"],
            "severity": r["severity"],
            "enabled": r["enabled"],
            "reason": r["override_reason"],
            "since": iso(r["_changed_at"]),
        }
        for r in sorted(rules.values(), key=lambda r: r["code"])
        if r["overridden"] and (not snap.scope.regulation or r["code"].startswith(snap.scope.regulation + "."))
    ]
    policies = []
    for pk, p in sorted(snap.policies.items(), key=lambda kv: (kv[1]["kind"], kv[1]["priority"], kv[1]["name"])):
        scoped = sorted(snap.policy_assets.get(pk, set()))
        if snap.scope.asset_ids and scoped and not set(scoped) & set(snap.scope.asset_ids):
            continue
        policies.append(
            {
                "id": pk,
                "name": p["name"],
                "kind": p["kind"],
                "enabled": p["enabled"],
                "version": p["_version"],
                "changed_at": iso(p["_changed_at"]),
                "priority": p["priority"],
                "entity_types": p["entity_types"],
                "assets": [snap.asset_name(a) for a in scoped] or ["(every asset)"],
                "config": p["config"],
                "description": p["description"],
            }
        )
    return {"view": snap.scope.view_label(), "packs": packs, "rule_overrides": overrides, "policies": policies}
