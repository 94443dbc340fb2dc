"""Writes for users and tokens; each records its audit event in the same transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import ApiToken, User
from accounts.permissions import ADMINISTER, require
from audit.services import record
from core.types import Actor

TOKEN_PREFIX = "cst_"  # noqa: S105 - a public prefix, not a secret
TOKEN_USE_AUDIT_INTERVAL = timedelta(minutes=5)
TOKEN_MAX_DAYS = 3650


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def user_ensure(*, username: str, role: str, actor: Actor | str, email: str = "", password: str | None = None) -> User:
    """Return the user ``username``, creating it with ``role`` if missing (audited; needs ``administer``)."""
    require(actor, ADMINISTER, "users")
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(Role.values)}")
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        user = User(username=username, role=role, email=email, is_staff=role in {Role.ADMIN, Role.STEWARD, Role.AUDITOR})
        if role == Role.ADMIN:
            user.is_superuser = True
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean()
        user.save()
        record(actor=actor, action="accounts.user.create", target=user, details={"role": role})
        return user


def user_set_role(*, user: User, role: str, actor: Actor | str) -> User:
    """Change ``user``'s role (audited; needs ``administer``)."""
    require(actor, ADMINISTER, "users")
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    with transaction.atomic():
        old = user.role
        user.role = role
        user.is_staff = role in {Role.ADMIN, Role.STEWARD, Role.AUDITOR}
        user.is_superuser = role == Role.ADMIN
        user.full_clean()
        user.save()
        record(actor=actor, action="accounts.user.set_role", target=user, details={"from": old, "to": role})
    return user


def token_create(*, user: User, actor: Actor | str, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the stored row and the secret, which is never stored.

    A token always expires: ``days`` (default ``CUSTOS_TOKEN_DEFAULT_DAYS``) must be a whole number
    of days from 1 to ``TOKEN_MAX_DAYS``; anything else is a ``ValidationError`` (defect 6: ``-1``
    and ``0`` used to mint a token that never expired). Needs ``administer``.
    """
    require(actor, ADMINISTER, "tokens")
    lifetime = settings.CUSTOS_TOKEN_DEFAULT_DAYS if days is None else days
    if not isinstance(lifetime, int) or not 1 <= lifetime <= TOKEN_MAX_DAYS:
        raise ValidationError(f"token lifetime must be between 1 and {TOKEN_MAX_DAYS} days", code="invalid")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken(
            user=user,
            name=name,
            prefix=raw[:12],
            digest=token_digest(raw),
            expires_at=timezone.now() + timedelta(days=lifetime),
        )
        token.full_clean()
        token.save()
        record(
            actor=actor,
            action="accounts.token.create",
            target=token,
            details={
                "user_id": user.pk,
                "prefix": token.prefix,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
        )
    return token, raw


def token_revoke(*, token: ApiToken, actor: Actor | str, reason: str = "") -> ApiToken:
    """Revoke ``token`` (audited; needs ``administer``)."""
    require(actor, ADMINISTER, "tokens")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor=actor, action="accounts.token.revoke", target=token, reason=reason, details={"prefix": token.prefix})
    return token


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token matching ``raw``, or None. Use is audited at most every few minutes per token."""
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_AUDIT_INTERVAL:
        with transaction.atomic():
            token.last_used_at = now
            token.save(update_fields=["last_used_at"])
            record(actor=token.user, action="accounts.token.use", target=token, details={"prefix": token.prefix})
    return token
