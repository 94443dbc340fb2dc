"""Time-bound access grants: requested by (or for) a user, decided by a steward, audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, VIEW, require
from audit.services import record
from catalog.models import DataAsset
from compliance.policies.choices import GrantState
from compliance.policies.models import AccessGrant
from core.types import Actor

VERBS = {GrantState.APPROVED: "approve", GrantState.REJECTED: "reject", GrantState.REVOKED: "revoke"}


def grant_request(
    *,
    user,
    asset: DataAsset,
    purpose: str,
    actor: Actor | str,
    justification: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    days: int = 30,
    effect: str = "allow",
) -> AccessGrant:
    """A user asks for time-bound access to an asset for a purpose (``view``: for themselves;
    ``decide``: a steward asks on someone's behalf). Audited as ``policies.grant.request``."""
    require(actor, VIEW, "access grants")
    if getattr(actor, "pk", None) != getattr(user, "pk", None):
        require(actor, DECIDE, "access grants for someone else")
    start = valid_from or timezone.now()
    with transaction.atomic():
        grant = AccessGrant(
            user=user,
            asset=asset,
            purpose=purpose,
            justification=justification,
            effect=effect,
            requested_by=actor if getattr(actor, "pk", None) else None,
            valid_from=start,
            valid_until=valid_until or start + timedelta(days=days),
        )
        grant.full_clean()
        grant.save()
        record(
            actor=actor,
            action="policies.grant.request",
            target=grant,
            details={
                "user_id": user.pk,
                "asset_id": asset.pk,
                "purpose": purpose,
                "effect": effect,
                "valid_until": grant.valid_until.isoformat(),
            },
        )
    return grant


def _grant_decide(grant: AccessGrant, *, state: str, actor: Actor | str, reason: str) -> AccessGrant:
    require(actor, DECIDE, "access grants (deciding one is a steward decision)")
    if state in (GrantState.APPROVED, GrantState.REJECTED) and grant.state != GrantState.REQUESTED:
        raise ValidationError(f"only a requested grant can be {state}")
    if state == GrantState.REVOKED and grant.state != GrantState.APPROVED:
        raise ValidationError("only an approved grant can be revoked")
    if state == GrantState.APPROVED and getattr(actor, "pk", None) in (grant.user_id, grant.requested_by_id):
        raise ValidationError("a grant is approved by a steward other than the person it is for or who asked for it")
    with transaction.atomic():
        old = grant.state
        grant.state = state
        grant.decided_by = actor if getattr(actor, "pk", None) else None
        grant.decided_at = timezone.now()
        grant.full_clean()
        grant.save()
        record(
            actor=actor,
            action=f"policies.grant.{VERBS[state]}",
            target=grant,
            reason=reason,
            details={
                "state": {"from": old, "to": state},
                "user_id": grant.user_id,
                "asset_id": grant.asset_id,
                "purpose": grant.purpose,
            },
        )
    return grant


def grant_approve(*, grant: AccessGrant, actor: Actor | str, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.APPROVED, actor=actor, reason=reason)


def grant_reject(*, grant: AccessGrant, actor: Actor | str, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.REJECTED, actor=actor, reason=reason)


def grant_revoke(*, grant: AccessGrant, actor: Actor | str, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.REVOKED, actor=actor, reason=reason)
