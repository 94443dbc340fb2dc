"""Django model permissions derived from roles, so the admin follows the same matrix as the API.

Roles are the single source of truth: nobody assigns Django permissions by hand. A steward may
view, add, change and delete in the governance apps; an auditor may view them and the ledger;
users, groups and tokens stay with admins (superusers pass every check already).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend

from accounts.choices import Role
from accounts.permissions import ADD, AUDIT, CHANGE, DELETE, VIEW, role_of, user_can

GOVERNANCE_APPS = frozenset({"catalog", "lineage", "scanning", "policies", "evidence", "monitoring"})
LEDGER_APPS = frozenset({"audit"})
VERBS = {"view": VIEW, "add": ADD, "change": CHANGE, "delete": DELETE}
# The admin shows every row; roles whose reads are scoped (viewer) or that are API clients
# (service) work through the API and pages, which apply restrict().
ADMIN_ROLES = frozenset({Role.ADMIN, Role.STEWARD, Role.AUDITOR})


def _action_for(app_label: str, verb: str) -> str | None:
    if app_label in GOVERNANCE_APPS:
        return VERBS.get(verb)
    if app_label in LEDGER_APPS and verb == "view":
        return AUDIT
    return None


class RolePermissionBackend(BaseBackend):
    """Answers ``has_perm("app.verb_model")`` and ``has_module_perms(app)`` from the user's role."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not getattr(user_obj, "is_active", False) or "." not in perm or role_of(user_obj) not in ADMIN_ROLES:
            return False
        app_label, codename = perm.split(".", 1)
        verb = codename.split("_", 1)[0]
        action = _action_for(app_label, verb)
        return action is not None and user_can(user_obj, action)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(self.has_perm(user_obj, f"{app_label}.{verb}_x") for verb in VERBS)
