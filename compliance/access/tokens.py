"""Keys and reversal: rotating the policy key ring and revealing ``siv:``/``gcm:`` tokens.

A reveal needs ``decide`` (stewards, admins), a purpose other than marketing and a reason; both a
reveal and a refused attempt are audit events holding a hash of the token, never the plaintext.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.permissions import DECIDE, require, role_of, user_can
from audit.services import record
from catalog.models import DataAsset
from compliance.policies import keys
from compliance.policies.choices import Purpose
from core.types import Actor


def key_rotate(*, actor: Actor | str, reason: str = "") -> str:
    """Create a new key in the key ring and make it active (earlier keys stay for decryption)."""
    require(actor, DECIDE, "policy keys (rotating them is a steward decision)")
    ring = keys.keyring()
    with transaction.atomic():
        kid = ring.rotate()
        record(
            actor=actor,
            action="policies.key.rotate",
            target_type="policies.key",
            target_id=kid,
            reason=reason,
            details={"kid": kid},
        )
    return kid


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def token_reveal_authorize(
    *,
    actor: Actor | str,
    purpose: str,
    reason: str = "",
    token: str = "",
    asset: DataAsset | None = None,
    role_only: bool = False,
) -> None:
    """Refuse, and audit the refusal as ``policies.token.reveal_denied``, unless ``actor`` may reveal
    tokens (``decide``) and -- unless ``role_only`` -- gives a purpose other than marketing and a
    reason. :func:`token_reveal` calls it first; the API view calls it with ``role_only=True``
    before it validates the request body, so a role without ``decide`` gets 403, never a 400."""
    allowed = isinstance(actor, str) or user_can(actor, DECIDE)
    purpose_ok = purpose in Purpose.values and purpose != Purpose.MARKETING and bool(reason.strip())
    if allowed and (role_only or purpose_ok):
        return
    digest = _token_digest(token) if token else "-"
    target = {"target": asset} if asset is not None else {"target_type": "policies.token", "target_id": digest}
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.token.reveal_denied",
            reason=reason,
            details={
                "token_sha256_16": digest,
                "purpose": purpose if purpose in Purpose.values else "(invalid)",
                "role": role_of(actor),
            },
            **target,
        )
    require(actor, DECIDE, "tokens (revealing one is a steward decision)")
    raise PermissionDenied("revealing a token needs a purpose other than marketing and a reason")


def token_reveal(*, token: str, purpose: str, actor: Actor | str, reason: str = "", asset: DataAsset | None = None) -> str:
    """Decrypt an ``siv:``/``gcm:`` token for an authorised user (admin or steward) with a purpose.

    Both the reveal and a refused attempt are audit events; the event holds a keyed hash of the
    token, never the plaintext."""
    ring = keys.keyring()
    digest = _token_digest(token)
    target = {"target": asset} if asset is not None else {"target_type": "policies.token", "target_id": digest}
    token_reveal_authorize(actor=actor, purpose=purpose, reason=reason, token=token, asset=asset)
    try:
        plaintext = ring.decrypt(token)
    except keys.KeyError_ as exc:
        raise ValidationError({"token": str(exc)}) from exc
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.token.reveal",
            reason=reason,
            details={"token_sha256_16": digest, "kid": token.split(":")[1], "purpose": purpose},
            **target,
        )
    return plaintext
