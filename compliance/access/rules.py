"""Access decisions: attribute-based rules over role, purpose, sensitivity, entity types and
regulation categories, deciding ``allow``, ``allow_masked`` or ``deny`` with reasons.

Order of evaluation (the first three are final):

1. no active user, an unknown purpose or a deleted asset: deny;
2. sensitive categories (GDPR Art. 9, CCPA sensitive PI, PHI) for marketing: deny;
3. auditors read for the ``audit`` purpose only: deny otherwise;
4. the baseline ``BASELINE[role][sensitivity]``;
5. purpose limitation: a purpose not among the asset's recorded purposes caps at ``allow_masked``;
6. steward access policies scoped to the asset, by priority: the first matching rule replaces the
   result (it may loosen or tighten);
7. an approved, unexpired grant for this user, asset and purpose lifts the result to the grant's
   effect unless a policy rule denied.

The sensitivity used is never below the asset's confirmed classifications
(:func:`compliance.access.masking.effective_sensitivity`), and ``masked_columns`` names every
name a classified column of the asset has had (:func:`compliance.access.masking.classified_columns`),
so lowering ``sensitivity``, renaming or moving a classified column unmasks nothing (issue 12,
defect 13). ``compliance.access.decisions.access_decide`` wraps this and audits every decision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from accounts.choices import Role
from accounts.permissions import role_of
from catalog.choices import AssetStatus, Sensitivity
from catalog.models import DataAsset
from compliance.access.masking import classified_columns, effective_sensitivity
from compliance.policies import selectors
from compliance.policies.choices import EFFECT_RANK, Effect, PolicyKind, Purpose

A, M, D = Effect.ALLOW, Effect.ALLOW_MASKED, Effect.DENY
BASELINE: dict[str, dict[str, str]] = {
    #               public internal confidential restricted
    Role.ADMIN: dict(zip(Sensitivity.values, (A, A, A, M), strict=True)),
    Role.STEWARD: dict(zip(Sensitivity.values, (A, A, A, M), strict=True)),
    Role.AUDITOR: dict(zip(Sensitivity.values, (A, A, M, M), strict=True)),
    Role.SERVICE: dict(zip(Sensitivity.values, (A, A, M, D), strict=True)),
    Role.VIEWER: dict(zip(Sensitivity.values, (A, M, D, D), strict=True)),
}


@dataclass
class Decision:
    effect: str
    reasons: list[str]
    role: str | None
    purpose: str
    sensitivity: str
    entity_types: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    masked_columns: list[str] = field(default_factory=list)
    policy_ids: list[int] = field(default_factory=list)
    grant_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rule_matches(
    rule: dict[str, Any], *, role: str, purpose: str, sensitivity: str, entity_types: set[str], categories: set[str]
) -> bool:
    if rule.get("roles") and role not in rule["roles"]:
        return False
    if rule.get("purposes") and purpose not in rule["purposes"]:
        return False
    if rule.get("sensitivities") and sensitivity not in rule["sensitivities"]:
        return False
    if rule.get("entity_types") and not set(rule["entity_types"]) & entity_types:
        return False
    if rule.get("categories"):
        wanted = set(rule["categories"])
        packs = {c.split(":")[0] + ":*" for c in categories}
        if not wanted & (categories | packs):
            return False
    return True


def decide(*, user: Any, asset: DataAsset, purpose: str) -> Decision:
    """The decision for ``user`` reading ``asset`` for ``purpose`` (pure: no writes)."""
    role = role_of(user)
    columns = classified_columns(asset)
    entity_types = {e for es in columns.values() for e in es}
    sensitivity = effective_sensitivity(asset)
    cats = selectors.categories_for(entity_types)
    sensitive = sorted(c for c, v in cats.items() if v["sensitive"])
    decision = Decision(
        effect=D,
        reasons=[],
        role=role,
        purpose=purpose,
        sensitivity=sensitivity,
        entity_types=sorted(entity_types),
        categories=sorted(cats),
    )
    if role is None:
        decision.reasons.append("no active, authenticated user")
        return decision
    if purpose not in Purpose.values:
        decision.reasons.append(f"a purpose is required, one of: {', '.join(Purpose.values)} (GDPR Art. 5(1)(b))")
        return decision
    if asset.status == AssetStatus.DELETED:
        decision.reasons.append("the asset is deleted")
        return decision
    if purpose == Purpose.MARKETING and sensitive:
        decision.reasons.append(
            "sensitive categories may not be used for marketing: "
            + ", ".join(sensitive)
            + " (GDPR Art. 9(1); CCPA 1798.121; HIPAA 45 CFR 164.508(a)(3))"
        )
        return decision
    if role == Role.AUDITOR and purpose != Purpose.AUDIT:
        decision.reasons.append("auditors read data for the audit purpose only")
        return decision

    effect = BASELINE[role][sensitivity]
    decision.reasons.append(f"baseline for role {role} on {sensitivity} data: {effect}")
    if sensitivity != asset.sensitivity:
        decision.reasons.append(f"the asset's confirmed classifications imply {sensitivity} (it says {asset.sensitivity})")
    # Purpose limitation applies when the asset records its purposes in our vocabulary.
    recorded = {str(p).strip().lower() for p in asset.processing_purposes} & set(Purpose.values)
    if entity_types and recorded and purpose not in recorded and purpose != Purpose.AUDIT and effect == A:
        effect = M
        decision.reasons.append(
            f"purpose {purpose} is not among the asset's recorded purposes: identifiers masked (GDPR Art. 5(1)(b))"
        )

    policy_denied = False
    for policy in selectors.policies_for_asset(asset, PolicyKind.ACCESS, entity_types=entity_types):
        for rule in policy.config.get("rules", []):
            if _rule_matches(
                rule, role=role, purpose=purpose, sensitivity=sensitivity, entity_types=entity_types, categories=set(cats)
            ):
                effect = rule["effect"]
                policy_denied = effect == D
                decision.policy_ids.append(policy.pk)
                decision.reasons.append(f"policy '{policy.name}': {rule.get('reason') or 'rule matched'} -> {effect}")
                break
        else:
            continue
        break

    grant = selectors.active_grant(user=user, asset=asset, purpose=purpose)
    if grant is not None and not policy_denied and EFFECT_RANK[grant.effect] < EFFECT_RANK[effect]:
        effect = grant.effect
        decision.grant_id = grant.pk
        decision.reasons.append(f"approved grant {grant.pk} for {purpose} until {grant.valid_until.isoformat()} -> {effect}")
    elif grant is not None:
        decision.grant_id = grant.pk
        decision.reasons.append(f"grant {grant.pk} does not widen the decision")

    decision.effect = effect
    if effect == M:
        decision.masked_columns = sorted(columns)
    return decision
