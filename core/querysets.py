"""Permission scoping: one QuerySet method, ``restrict(user, action)``, that every list, detail,
selector, page and base viewset uses (NetBox: ``utilities/querysets.py``)."""

from __future__ import annotations

from typing import Any

from django.db import models

from core.permissions import VIEW, VIEW_RESTRICTED, user_can


class RestrictedQuerySet(models.QuerySet):
    """``restrict(user, action)`` narrows a queryset to what ``user`` may ``action``.

    No rows unless the user holds ``action``. Models mark restricted rows with a classmethod
    ``restricted_q()`` (a Q object); a user without ``view_restricted`` never sees those rows,
    whatever the action: an object one may not see cannot be changed, deleted or decided either
    (it answers 404, not 403, so its existence does not leak).
    """

    def restrict(self, user: Any, action: str = VIEW) -> RestrictedQuerySet:
        if not user_can(user, action):
            return self.none()
        restricted_q = getattr(self.model, "restricted_q", None)
        if restricted_q is not None and not user_can(user, VIEW_RESTRICTED):
            return self.exclude(restricted_q())
        return self
