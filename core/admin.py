"""Shared admin pieces: ``ReadOnlyAdmin`` and ``service_action`` for bulk actions.

``service_action`` makes an admin action a thin caller of a service::

    @service_action(description="Confirm selected", permissions=["decide"])
    def confirm(self, request, obj):
        classification_confirm(classification=obj, actor=request.user)

The wrapped function is called once per selected object with ``actor=request.user`` passed by
you to the service; the service checks the role matrix (``accounts.permissions.require``). A
``PermissionDenied`` or ``ValidationError`` becomes one admin error message that says why
("steward may not ..."/the validation message), the other objects are still tried, and a
success message counts what was done. ``permissions=["decide"]`` makes Django hide the action
from users whose ``has_decide_permission`` is False: define ``has_<perm>_permission`` on the
ModelAdmin (``CustosModelAdmin`` below does it from the role matrix for every action name).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from core.permissions import ADD, AUDIT, CHANGE, DECIDE, DELETE, EXPORT, VIEW, VIEW_RESTRICTED, user_can


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes through this admin, superusers included (ledger, runs)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleActionPermissionsMixin:
    """``has_<action>_permission`` for every role-matrix action, so actions can declare
    ``permissions=["decide"]`` etc. and Django shows them only to roles holding the action."""

    def has_decide_permission(self, request, obj=None):
        return user_can(request.user, DECIDE)

    def has_export_permission(self, request, obj=None):
        return user_can(request.user, EXPORT)

    def has_audit_permission(self, request, obj=None):
        return user_can(request.user, AUDIT)

    def has_view_restricted_permission(self, request, obj=None):
        return user_can(request.user, VIEW_RESTRICTED)


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or "permission denied"


def service_action(*, description: str, permissions: Iterable[str] | None = None) -> Callable[[Callable], Callable]:
    """Decorate ``fn(self, request, obj)`` into an admin action over a queryset (see module doc)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def action(modeladmin, request, queryset):
            done, refused = 0, []
            for obj in queryset:
                try:
                    fn(modeladmin, request, obj)
                except (PermissionDenied, ValidationError) as exc:
                    refused.append(f"{obj}: {_message_of(exc)}")
                else:
                    done += 1
            if done:
                modeladmin.message_user(request, f"{description}: {done} done.", messages.SUCCESS)
            for line in refused:
                modeladmin.message_user(request, f"{description} refused -- {line}", messages.ERROR)

        return admin.action(description=description, permissions=list(permissions) if permissions else None)(action)

    return decorate


__all__ = ["ReadOnlyAdmin", "RoleActionPermissionsMixin", "service_action", "VIEW", "ADD", "CHANGE", "DELETE"]
