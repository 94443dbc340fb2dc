"""Reads of the catalog that are more than a filter. All take the reading user and scope by it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.permissions import VIEW
from catalog.choices import ClassificationState
from catalog.models import Classification, Column, DataAsset, GlossaryTerm, MLModel, ModelVersion, Tag

LIVE_STATES = (ClassificationState.SUGGESTED, ClassificationState.CONFIRMED)


def pii_exists_for_asset() -> Exists:
    return Exists(Classification.objects.filter(column__asset=OuterRef("pk"), state__in=LIVE_STATES))


def column_count_for_asset() -> Coalesce:
    # A correlated subquery, not Count("columns"): a JOIN + GROUP BY would aggregate every
    # column of every asset before paginating, and would make the paginator's count() as slow.
    per_asset = Column.objects.filter(asset=OuterRef("pk")).order_by().values("asset").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(per_asset, output_field=IntegerField()), 0)


def asset_list(*, user: Any) -> QuerySet[DataAsset]:
    """Assets ``user`` may see, with what list pages and the API show, in a bounded query count."""
    return (
        DataAsset.objects.restrict(user, VIEW)
        .select_related("source", "domain")
        .prefetch_related("owners", "stewards", "tags", "glossary_terms")
        .annotate(has_pii=pii_exists_for_asset(), column_count=column_count_for_asset())
    )


def asset_detail(*, user: Any) -> QuerySet[DataAsset]:
    """Like :func:`asset_list` plus columns with their classifications and tags."""
    return asset_list(user=user).prefetch_related("columns__tags", "columns__glossary_terms", "columns__classifications")


def column_list(*, user: Any) -> QuerySet[Column]:
    return (
        Column.objects.restrict(user, VIEW)
        .select_related("asset", "asset__source")
        .prefetch_related("tags", "glossary_terms", "classifications")
    )


def classification_list(*, user: Any) -> QuerySet[Classification]:
    return Classification.objects.restrict(user, VIEW).select_related("column", "column__asset", "created_by", "decided_by")


def model_list(*, user: Any) -> QuerySet[MLModel]:
    return MLModel.objects.restrict(user, VIEW).select_related("owner", "domain").prefetch_related("tags", "versions")


def model_version_list(*, user: Any) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.restrict(user, VIEW)
        .select_related("model")
        .prefetch_related("training_datasets", "evaluation_datasets", "features")
    )


@dataclass(frozen=True)
class SearchHit:
    type: str
    id: int
    name: str
    description: str
    context: str  # where it lives: the asset of a column, the source of an asset
    asset_id: int | None = None  # the asset an asset or column hit belongs to


SEARCH_TYPES = ("asset", "column", "model", "tag", "glossary_term")


def search(
    *, user: Any, query: str, types: tuple[str, ...] = SEARCH_TYPES, assets: QuerySet[DataAsset] | None = None, limit: int = 50
) -> tuple[list[SearchHit], dict[str, int]]:
    """One query over names and descriptions of assets, columns, models, tags and glossary terms.

    ``assets`` (already filtered, e.g. by owner or has-PII) narrows asset and column hits.
    Returns at most ``limit`` hits per type, exact name matches first, and the total per type.
    """
    text = Q(name__icontains=query) | Q(description__icontains=query) if query else Q()
    base_assets = assets if assets is not None else DataAsset.objects.restrict(user, VIEW)
    querysets: dict[str, QuerySet] = {
        "asset": base_assets.filter(text | Q(qualified_name__icontains=query) if query else text).select_related("source"),
        "column": Column.objects.restrict(user, VIEW).filter(text, asset__in=base_assets.values("pk")).select_related("asset"),
        "model": MLModel.objects.restrict(user, VIEW).filter(text),
        "tag": Tag.objects.restrict(user, VIEW).filter(text),
        "glossary_term": GlossaryTerm.objects.restrict(user, VIEW).filter(text),
    }
    hits: list[SearchHit] = []
    totals: dict[str, int] = {}
    for kind in types:
        qs = querysets[kind]
        totals[kind] = qs.count()
        exact_first = sorted(qs[:limit], key=lambda obj: (obj.name.lower() != query.lower(), obj.name.lower()))
        for obj in exact_first:
            context, asset_id = "", None
            if kind == "asset":
                context, asset_id = f"{obj.source.name}:{obj.qualified_name}", obj.pk
            elif kind == "column":
                context, asset_id = obj.asset.qualified_name, obj.asset_id
            hits.append(SearchHit(kind, obj.pk, obj.name, obj.description[:300], context, asset_id))
    return hits, totals
