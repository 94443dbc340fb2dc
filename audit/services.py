"""Writing audit events. :func:`record` is the one entry point every service calls.

Contract: call it inside the ``transaction.atomic()`` block that makes the change, so the change
and its event commit or roll back together. It refuses to run outside a transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.utils import timezone

from audit.choices import ActorType
from audit.models import AuditEvent

SYSTEM = "system"


class AuditOutsideTransaction(RuntimeError):
    """record() was called outside transaction.atomic(): the event could outlive a failed change."""


def actor_fields(actor: Any) -> dict[str, str]:
    """Normalise an actor: a user, ``None``/anonymous (the system), or a string naming a component."""
    if actor is None or getattr(actor, "is_anonymous", False):
        return {"actor_type": ActorType.SYSTEM, "actor_id": SYSTEM, "actor_name": SYSTEM}
    if isinstance(actor, str):
        return {"actor_type": ActorType.SYSTEM, "actor_id": actor, "actor_name": actor}
    return {"actor_type": ActorType.USER, "actor_id": str(actor.pk), "actor_name": actor.get_username()}


def target_type_of(instance: models.Model) -> str:
    """Stable target type name: ``app_label.modelname``."""
    return instance._meta.label_lower


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event for ``action`` on ``target`` (an instance, or type + id).

    ``details`` holds identifiers, counts and keyed hashes only, never raw personal data.
    """
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(f"audit.record({action!r}) must run inside transaction.atomic()")
    if target is not None:
        target_type, target_id = target_type_of(target), target.pk
    if not target_type or target_id is None:
        raise ValueError("record() needs a target instance or target_type and target_id")
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        details=details or {},
        **actor_fields(actor),
    )
