"""Section ``evidence/findings.json``: findings open at the date and the posture per regulation."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Q

from catalog.models import MLModel, ModelVersion
from compliance.evidence.collect.snapshot import Snapshot, as_of, iso
from compliance.policies.choices import SEVERITY_RANK
from compliance.policies.evaluation import pack_applies
from compliance.policies.models import (
    Finding,
)


def findings(snap: Snapshot) -> dict[str, Any]:
    """Findings open at the date (first seen on or before it, not resolved by then) and the posture
    per regulation computed from them."""
    at = snap.scope.at
    qs = (
        Finding.objects.filter(first_seen__lte=at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=at))
        .select_related("rule")
        .order_by("regulation", "id")
    )
    if snap.scope.regulation:
        qs = qs.filter(regulation=snap.scope.regulation)
    names = model_version_names(at)
    items = []
    for f in qs:
        if f.asset_id is not None and snap.scope.asset_ids and f.asset_id not in snap.scope.asset_ids:
            continue
        items.append(
            {
                "id": f.pk,
                "regulation": f.regulation,
                "rule": f.rule.code,
                "severity": f.severity,
                "citation": f.citation,
                "target": snap.asset_name(f.asset_id)
                if f.asset_id
                else names.get(f.model_version_id, f"model version {f.model_version_id}"),
                "asset_id": f.asset_id,
                "model_version_id": f.model_version_id,
                "message": f.message,
                "fix": f.fix,
                "evidence": f.evidence,
                "first_seen": iso(f.first_seen),
            }
        )
    items.sort(key=lambda f: (-SEVERITY_RANK.get(f["severity"], 0), f["regulation"], f["target"], f["rule"]))
    posture = {}
    for code, pack in sorted(snap.packs.items()):
        if not pack["enabled"] or (snap.scope.regulation and code != snap.scope.regulation):
            continue
        in_scope = {
            a
            for a in snap.assets
            if snap.entity_types.get(a)
            and pack_applies(pack["content"] or {}, snap.entity_types[a], snap.tags.get(a, set()), snap.category_index, code)
        }
        if snap.scope.asset_ids:
            in_scope &= set(snap.scope.asset_ids)
        mine = [f for f in items if f["regulation"] == code]
        with_findings = {f["asset_id"] for f in mine if f["asset_id"]}
        by_severity = Counter(f["severity"] for f in mine)
        counts = {s: by_severity.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)}
        posture[code] = {
            "severity_text": ", ".join(f"{n} {s}" for s, n in counts.items() if n),
            "name": pack["name"],
            "version": pack["version"],
            "assets_in_scope": len(in_scope),
            "assets_compliant": len(in_scope - with_findings),
            # The key's name predates the claims rule; what it counts is exactly this:
            "assets_compliant_means": "in scope and without an open finding of this pack's rules at the date; "
            "the rules test catalog metadata, not the processing itself",
            "assets_with_findings": len(with_findings & in_scope),
            "model_versions_with_findings": len({f["model_version_id"] for f in mine if f["model_version_id"]}),
            "open_findings": len(mine),
            "by_severity": {s: by_severity.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)},
        }
    return {"view": snap.scope.view_label(), "posture": posture, "findings": items}


def model_version_names(at: datetime) -> dict[int, str]:
    """{model version id: "model version"} as of ``at``."""
    models = {pk: m["name"] for pk, m in as_of(MLModel, at, ("name",)).items()}
    return {
        pk: f"{models.get(v['model_id'], '?')} {v['version']}"
        for pk, v in as_of(ModelVersion, at, ("model_id", "version")).items()
    }
