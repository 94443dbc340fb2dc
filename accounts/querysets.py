"""Permission scoping: one QuerySet method that every list, detail, selector and page uses."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.permissions import VIEW, VIEW_RESTRICTED, user_can


class RestrictedQuerySet(models.QuerySet):
    """``restrict(user, action)`` narrows a queryset to what ``user`` may ``action``.

    Models mark restricted rows by defining ``restricted_q()`` (a classmethod returning a Q
    object); users without ``view_restricted`` never see those rows.
    """

    def restrict(self, user: Any, action: str = VIEW) -> RestrictedQuerySet:
        if not user_can(user, action):
            return self.none()
        restricted_q = getattr(self.model, "restricted_q", None)
        if action == VIEW and restricted_q is not None and not user_can(user, VIEW_RESTRICTED):
            return self.exclude(restricted_q())
        return self
