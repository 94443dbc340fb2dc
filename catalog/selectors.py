"""Reads of the catalog that are more than a filter. All take the reading user and scope by it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.permissions import VIEW
from catalog.choices import SENSITIVITY_RANK, ClassificationState, Sensitivity
from catalog.models import Classification, Column, DataAsset, GlossaryTerm, MLModel, ModelVersion, Tag

LIVE_STATES = (ClassificationState.SUGGESTED, ClassificationState.CONFIRMED)


def pii_exists_for_asset() -> Exists:
    return Exists(Classification.objects.filter(column__asset=OuterRef("pk"), state__in=LIVE_STATES))


def asset_list(*, user: Any) -> QuerySet[DataAsset]:
    """Assets ``user`` may see, with their related rows prefetched (bounded query count).

    Per-asset statistics (``has_pii``, ``column_count``) are not annotated here: computed for
    every row, PostgreSQL evaluates them over the whole catalog before paginating. Call
    :func:`attach_asset_stats` on the page instead.
    """
    return (
        DataAsset.objects.restrict(user, VIEW)
        .select_related("source", "domain")
        .prefetch_related("owners", "stewards", "tags", "glossary_terms")
    )


def asset_detail(*, user: Any) -> QuerySet[DataAsset]:
    """Like :func:`asset_list` plus columns with their classifications and tags."""
    return asset_list(user=user).prefetch_related("columns__tags", "columns__glossary_terms", "columns__classifications")


def attach_asset_stats(assets: Sequence[DataAsset]) -> Sequence[DataAsset]:
    """Set ``has_pii`` and ``column_count`` on each asset, in two queries whatever the count."""
    ids = [asset.pk for asset in assets]
    with_pii = set(
        Classification.objects.filter(column__asset_id__in=ids, state__in=LIVE_STATES).values_list("column__asset_id", flat=True)
    )
    counts = dict(Column.objects.filter(asset_id__in=ids).order_by().values_list("asset_id").annotate(n=Count("*")))
    for asset in assets:
        asset.has_pii = asset.pk in with_pii
        asset.column_count = counts.get(asset.pk, 0)
    return assets


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


def asset_sensitivity_floor(asset: DataAsset) -> Sensitivity:
    """The lowest sensitivity ``asset`` may have: the highest of its confirmed classifications
    (``public`` when it has none). ``asset_update`` refuses to go below it."""
    levels = Classification.objects.filter(column__asset=asset, state=ClassificationState.CONFIRMED).values_list(
        "sensitivity", flat=True
    )
    return max((Sensitivity(level) for level in set(levels)), key=SENSITIVITY_RANK.__getitem__, default=Sensitivity.PUBLIC)


def column_names_ever(column: Column) -> list[str]:
    """Every name ``column`` has had: its current name first, then its former names, newest first.

    Masking matches classifications by column identity and by each of these names, so renaming a
    classified column never brings its data back unmasked."""
    return [column.name, *[n for n in reversed(column.former_names) if n != column.name]]
