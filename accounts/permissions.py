"""The role matrix, and the DRF permission class every endpoint uses.

Actions:
    ``view``             read catalog metadata that is not restricted
    ``view_restricted``  also read metadata of restricted assets and their columns
    ``add``/``change``/``delete``  write catalog objects
    ``audit``            read the audit ledger, checkpoints and proofs
    ``export``           export evidence bundles
    ``decide``           approve access grants, confirm or reject classifications (steward work)
    ``administer``       manage users, roles and API tokens (admins only)

Services call :func:`require` first. A ``str`` actor names a system component run by an operator
with shell and database access (``"cli:token_create"``, ``"system:demo"``): it is allowed, and the
audit event records that name; every request-driven path (API, admin, task with ``--user``)
passes a real user and gets the role matrix.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.choices import Role

# the action vocabulary lives in core (below every app) so core's base viewset and admin helpers
# can name actions; the role matrix below is accounts' alone
from core.permissions import (  # noqa: F401  (re-exported: every app imports actions from here)
    ADD,
    ADMINISTER,
    AUDIT,
    CHANGE,
    DECIDE,
    DELETE,
    EXPORT,
    METHOD_ACTIONS,
    VIEW,
    VIEW_RESTRICTED,
    action_for,
)
from core.types import Actor

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset({VIEW, VIEW_RESTRICTED, ADD, CHANGE, DELETE, AUDIT, EXPORT, DECIDE, ADMINISTER}),
    Role.STEWARD: frozenset({VIEW, VIEW_RESTRICTED, ADD, CHANGE, DELETE, DECIDE}),
    Role.AUDITOR: frozenset({VIEW, VIEW_RESTRICTED, AUDIT, EXPORT}),
    Role.SERVICE: frozenset({VIEW, ADD, CHANGE}),
    Role.VIEWER: frozenset({VIEW}),
}


def role_of(user: Any) -> str | None:
    """The user's effective role; superusers are admins; anonymous and inactive users have none."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return getattr(user, "role", None)


def user_can(user: Any, action: str) -> bool:
    role = role_of(user)
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def require(actor: Actor | str, action: str, what: str) -> None:
    """Refuse unless ``actor``'s role holds ``action``; every service calls this (or a finer check) first.

    Raises ``PermissionDenied("<role> may not <action> <what>")`` -- ``what`` names the kind of
    object ("assets", "classifications"), never a submitted value. The API answers 403 with that
    message, admin actions show it, commands print it on one line.
    """
    if isinstance(actor, str):
        return  # a system component (see module docstring)
    if not user_can(actor, action):
        raise PermissionDenied(f"{role_of(actor) or 'anonymous'} may not {action} {what}")


class RolePermission(BasePermission):
    """Grants a request when the user's role holds the action for its method.

    A view can override per method with ``permission_actions = {"POST": "export", ...}`` or for
    every method with ``permission_action = "audit"``; a viewset ``@action`` can pass
    ``permission_action=`` in its kwargs provided the viewset class declares
    ``permission_action = None`` (DRF only accepts kwargs naming existing class attributes).
    """

    def action_for(self, request, view) -> str:
        return action_for(request, view)

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return user_can(request.user, self.action_for(request, view))
