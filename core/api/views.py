"""``CustosAPIView``: the base of every non-viewset API view (``/lineage/graph``, ``/audit/checkpoint`` ...).

A plain view has no queryset for the base viewset to scope, so it gets the two scoping tools
instead, and may not loosen the project's permission classes:

* ``self.restrict(queryset, action=None)`` -- ``queryset.restrict(user, "view")`` then, if the
  request's action is another, ``.restrict(user, action)`` (same rule as the base viewset);
* ``self.get_restricted_object(queryset, **lookup)`` -- one object through ``restrict``, 404 when
  the user may not see it (so a restricted object's existence does not leak).

Declaring ``permission_classes`` or ``authentication_classes`` on a subclass raises ``TypeError``:
every request goes through ``accounts.permissions.RolePermission`` (settings). The role-matrix
action comes from ``permission_action`` / ``permission_actions`` as everywhere.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from rest_framework.views import APIView

from core.permissions import VIEW, action_for


class CustosAPIView(APIView):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("permission_classes", "authentication_classes"):
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} sets {name}; Custos API views use the project's (settings)")

    def restrict(self, queryset, action: str | None = None):
        if not hasattr(queryset, "restrict"):
            raise ImproperlyConfigured(f"{type(self).__name__}: {queryset.model.__name__}'s queryset has no restrict()")
        user = self.request.user
        queryset = queryset.restrict(user, VIEW)
        action = action or action_for(self.request, self)
        return queryset if action == VIEW else queryset.restrict(user, action)

    def get_restricted_object(self, queryset, action: str | None = None, **lookup):
        obj = self.restrict(queryset, action).filter(**lookup).first()
        if obj is None:
            raise Http404
        return obj
