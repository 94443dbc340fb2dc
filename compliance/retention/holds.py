"""Legal holds: while active, every destructive retention action on the asset is blocked."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, require
from audit.services import record
from catalog.models import DataAsset
from compliance.policies.models import LegalHold
from core.types import Actor

WHAT = "legal holds (a steward decision)"


def legal_hold_place(*, asset: DataAsset, reference: str, actor: Actor | str, reason: str = "") -> LegalHold:
    """Place a hold (``policies.legal_hold.place``)."""
    require(actor, DECIDE, WHAT)
    with transaction.atomic():
        hold = LegalHold(
            asset=asset, reference=reference, reason=reason, created_by=actor if getattr(actor, "pk", None) else None
        )
        hold.full_clean()
        hold.save()
        record(actor=actor, action="policies.legal_hold.place", target=hold, reason=reason, details={"asset_id": asset.pk})
    return hold


def legal_hold_release(*, hold: LegalHold, actor: Actor | str, reason: str = "") -> LegalHold:
    """Release an active hold (``policies.legal_hold.release``); a released one cannot be released again."""
    require(actor, DECIDE, WHAT)
    if hold.released_at is not None:
        raise ValidationError("this hold is already released")
    with transaction.atomic():
        hold.released_at = timezone.now()
        hold.released_by = actor if getattr(actor, "pk", None) else None
        hold.full_clean()
        hold.save()
        record(actor=actor, action="policies.legal_hold.release", target=hold, reason=reason, details={"asset_id": hold.asset_id})
    return hold
