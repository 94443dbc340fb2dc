"""``access_decide``: the access decision for a user, asset and purpose, audited allow or deny."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.permissions import ADD, AUDIT, DECIDE, VIEW, require, role_of, user_can
from audit.services import record
from catalog.models import DataAsset
from compliance.access import rules
from compliance.policies.choices import Purpose
from core.types import Actor


def require_may_ask_for_others(actor: Actor | str) -> None:
    """Stewards, auditors, admins and services (enforcement points) may ask about another user;
    everyone else only about themselves (docs/policies.md section 6)."""
    require(actor, VIEW, "access decisions")
    if isinstance(actor, str) or any(user_can(actor, a) for a in (DECIDE, AUDIT, ADD)):
        return
    raise PermissionDenied(f"{role_of(actor) or 'anonymous'} may not ask for another user's access decisions")


def access_decide(*, user, asset: DataAsset, purpose: str, actor: Actor | str, channel: str = "api") -> rules.Decision:
    """Decide (``rules.decide``) and record the decision with its reasons (``policies.access.decide``)."""
    if isinstance(actor, str) or getattr(actor, "pk", None) != getattr(user, "pk", None):
        require_may_ask_for_others(actor)
    else:
        require(actor, VIEW, "access decisions")
    decision = rules.decide(user=user, asset=asset, purpose=purpose)
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.access.decide",
            target=asset,
            reason="; ".join(decision.reasons),
            details={
                "user_id": getattr(user, "pk", None),
                "role": decision.role,
                "purpose": purpose if purpose in Purpose.values else "(invalid)",
                "effect": decision.effect,
                "policy_ids": decision.policy_ids,
                "grant_id": decision.grant_id,
                "masked_columns": len(decision.masked_columns),
                "channel": channel,
            },
        )
    return decision
