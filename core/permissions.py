"""The action vocabulary and how a request maps to an action; the role matrix itself lives in
``accounts.permissions`` (core sits below accounts and knows no roles).

A user object answers ``user.can(action)`` (``accounts.User.can`` consults the role matrix);
anything else (anonymous, inactive, an object without ``can``) may do nothing.
"""

from __future__ import annotations

from typing import Any

VIEW, VIEW_RESTRICTED, ADD, CHANGE, DELETE, AUDIT, EXPORT, DECIDE, ADMINISTER = (
    "view",
    "view_restricted",
    "add",
    "change",
    "delete",
    "audit",
    "export",
    "decide",
    "administer",  # users, roles and API tokens
)

METHOD_ACTIONS = {"GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW, "POST": ADD, "PUT": CHANGE, "PATCH": CHANGE, "DELETE": DELETE}


def user_can(user: Any, action: str) -> bool:
    """True when an authenticated, active ``user`` holds ``action`` (via ``user.can``)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    can = getattr(user, "can", None)
    return bool(callable(can) and can(action))


def action_for(request: Any, view: Any) -> str:
    """The role-matrix action a request needs.

    A view overrides per method with ``permission_actions = {"POST": "export", ...}`` or for every
    method with ``permission_action = "audit"``; a viewset ``@action`` passes
    ``permission_action=`` in its kwargs (the class then declares ``permission_action = None``).
    Otherwise the HTTP method decides (``METHOD_ACTIONS``; unknown methods need ``change``).
    """
    per_method = getattr(view, "permission_actions", None) or {}
    if request.method in per_method:
        return per_method[request.method]
    explicit = getattr(view, "permission_action", None)
    if explicit:
        return explicit
    return METHOD_ACTIONS.get(request.method, CHANGE)
