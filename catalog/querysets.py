"""Catalog scoping: ``restrict(user, action)`` with one exception for the people an asset belongs to.

A user without ``view_restricted`` never sees restricted assets, their columns or classifications,
except the asset's owners and the user who registered it: a service that registered an asset
keeps reading it, and adding columns to it, after a steward classifies a column as restricted
(docs/api.md "Restricted assets"). Who becomes an owner is itself a steward decision when one
adds oneself (catalog.services.asset_set_owners), so the exception cannot be self-granted.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.permissions import VIEW, VIEW_RESTRICTED, user_can
from core.querysets import RestrictedQuerySet


class AssetScopedQuerySet(RestrictedQuerySet):
    """``restrict`` for models whose restriction follows an asset; ``asset_path`` is the lookup
    prefix from the model to its asset ("" for the asset itself)."""

    asset_path = ""

    def restrict(self, user: Any, action: str = VIEW) -> RestrictedQuerySet:
        if not user_can(user, action):
            return self.none()
        if action != VIEW or user_can(user, VIEW_RESTRICTED):
            return self
        from catalog.models import DataAsset

        mine = DataAsset.objects.filter(Q(owners=user) | Q(registered_by=user)).values("pk")
        pk = f"{self.asset_path}pk" if self.asset_path else "pk"
        return self.filter(~self.model.restricted_q() | Q(**{f"{pk}__in": mine}))


class ColumnQuerySet(AssetScopedQuerySet):
    asset_path = "asset__"


class ClassificationQuerySet(AssetScopedQuerySet):
    asset_path = "column__asset__"
