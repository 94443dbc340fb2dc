"""Reads of the catalog that are more than a filter. All take the reading user and scope by it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.permissions import AUDIT, VIEW, user_can
from catalog.choices import SENSITIVITY_RANK, AssetKind, AssetStatus, ClassificationState, Sensitivity
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


@dataclass(frozen=True)
class LabelCounts:
    """The dashboard's label figures over the classifications ``user`` may see on assets not deleted.

    ``classified`` / ``confirmed``: columns with a live (suggested or confirmed) / a confirmed label;
    ``assets_with_pii``: assets with a live label. ``open`` and the rest: suggestions still waiting
    for a steward, as the review queue defines them (``compliance.scanning.views.open_suggestions``:
    suggested, and no confirmed label of the same entity type on the same column)."""

    classified: int
    confirmed: int
    assets_with_pii: int
    open: int
    open_assets: int
    oldest_open: Any  # datetime | None
    open_by_source: dict[str, int]


def label_counts(*, user: Any) -> LabelCounts:
    """:class:`LabelCounts` in one aggregate query, whatever the catalog size.

    One pass over the live classifications joined to their columns and assets: the join to
    200,000 columns is most of the cost, so the PII-coverage and review figures share it (as two
    queries they cost twice that: ~100 vs ~50 ms for 20,000 suggestions on PostgreSQL at load ~4).
    "Superseded" suggestions (a confirmed twin exists) are one uncorrelated subquery that
    PostgreSQL hashes once, not an EXISTS probed per row inside the aggregate."""
    from django.db.models import Min

    from catalog.choices import ClassificationSource

    same_confirmed = Classification.objects.filter(
        column=OuterRef("column"), entity_type=OuterRef("entity_type"), state=ClassificationState.CONFIRMED
    )
    superseded = Classification.objects.filter(state=ClassificationState.SUGGESTED).filter(Exists(same_confirmed)).values("pk")
    is_open = Q(state=ClassificationState.SUGGESTED) & ~Q(pk__in=superseded)
    sources = ClassificationSource.values
    row = (
        Classification.objects.restrict(user, VIEW)
        .filter(state__in=LIVE_STATES)
        .exclude(column__asset__status=AssetStatus.DELETED)
        .aggregate(
            classified=Count("column", distinct=True),
            confirmed=Count("column", distinct=True, filter=Q(state=ClassificationState.CONFIRMED)),
            assets_with_pii=Count("column__asset", distinct=True),
            open=Count("pk", filter=is_open),
            open_assets=Count("column__asset", distinct=True, filter=is_open),
            oldest_open=Min("created_at", filter=is_open),
            **{f"from_{s}": Count("pk", filter=is_open & Q(source=s)) for s in sources},
        )
    )
    by_source = {s: row.pop(f"from_{s}") for s in sources}
    return LabelCounts(**row, open_by_source=by_source)


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


def _search_querysets(user, query: str, assets: QuerySet | None) -> dict[str, QuerySet]:
    """One scoped queryset per hit type matching ``query`` (``assets`` narrows asset and column hits);
    shared by the API's ``search`` and the page's ``search_page``."""
    text = Q(name__icontains=query) | Q(description__icontains=query) if query else Q()
    base_assets = assets if assets is not None else DataAsset.objects.restrict(user, VIEW)
    return {
        "asset": base_assets.filter(text | Q(qualified_name__icontains=query) if query else text).select_related("source"),
        "column": Column.objects.restrict(user, VIEW).filter(text, asset__in=base_assets.values("pk")).select_related("asset"),
        "model": MLModel.objects.restrict(user, VIEW).filter(text),
        "tag": Tag.objects.restrict(user, VIEW).filter(text),
        "glossary_term": GlossaryTerm.objects.restrict(user, VIEW).filter(text),
    }


def search(
    *, user: Any, query: str, types: tuple[str, ...] = SEARCH_TYPES, assets: QuerySet[DataAsset] | None = None, limit: int = 50
) -> tuple[list[SearchHit], dict[str, int]]:
    """One query over names and descriptions of assets, columns, models, tags and glossary terms.

    ``assets`` (already filtered, e.g. by owner or has-PII) narrows asset and column hits.
    Returns at most ``limit`` hits per type, exact name matches first, and the total per type.
    """
    querysets = _search_querysets(user, query, assets)
    hits: list[SearchHit] = []
    totals: dict[str, int] = {}
    for kind in types:
        qs = querysets[kind]
        # Fetch first and count only when the page is full: a rare word then costs one scan of the
        # table (the count is the fetched length), not two; the total stays exact either way.
        rows = list(qs[: limit + 1]) if limit else []
        totals[kind] = len(rows) if limit and len(rows) <= limit else qs.count()
        exact_first = sorted(rows[:limit], key=lambda obj: (obj.name.lower() != query.lower(), obj.name.lower()))
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


# --- pages: facets, label provenance, history, people -------------------------------------------


@dataclass(frozen=True)
class FacetValue:
    """One value of a search facet: the filter parameter value, its label and how many assets have it."""

    value: str
    label: str
    count: int


FACETS = ("source", "kind", "domain", "owner", "tag", "glossary_term", "sensitivity", "entity_type", "status")


def asset_facets(*, assets: QuerySet[DataAsset], limit: int = 12, everything_of: Any = None) -> dict[str, list[FacetValue]]:
    """Counts of ``assets`` (already scoped and filtered) per value of each facet in :data:`FACETS`,
    most frequent first, at most ``limit`` values each: one GROUP BY query per facet.

    ``value`` is what the DataAssetFilterSet parameter of the same name takes (an id for source,
    domain, tag and glossary term; a username for owner; the stored value for the choices).
    ``everything_of=user`` says ``assets`` is every asset ``user`` may see, unfiltered: the counts
    then come from the scoped tables directly, without an IN list of every asset id (which made
    SQLite walk all columns of the catalog for the entity-type facet: 140 -> 40 ms at 10,000 assets)."""
    if everything_of is not None:
        ids = assets.order_by().values("pk")
        base = assets.order_by()
        labels_of = Classification.objects.restrict(everything_of, VIEW).filter(state__in=LIVE_STATES)
    else:
        ids = assets.order_by().values("pk")
        base = DataAsset.objects.filter(pk__in=ids).order_by()
        labels_of = Classification.objects.filter(column__asset__in=ids, state__in=LIVE_STATES)
    choice_labels = {
        "kind": dict(AssetKind.choices),
        "sensitivity": dict(Sensitivity.choices),
        "status": dict(AssetStatus.choices),
    }
    grouped = {
        "source": ("source_id", "source__name"),
        "domain": ("domain_id", "domain__name"),
        "owner": ("owners__username", "owners__username"),
        "tag": ("tags__id", "tags__name"),
        "glossary_term": ("glossary_terms__id", "glossary_terms__name"),
    }
    facets: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        if facet in grouped:
            key, label = grouped[facet]
            rows = (
                base.filter(**{f"{key}__isnull": False})
                .values(key, label)
                .annotate(n=Count("pk", distinct=True))
                .order_by("-n", label)[:limit]
            )
            facets[facet] = [FacetValue(str(r[key]), str(r[label]), r["n"]) for r in rows]
        elif facet == "entity_type":
            rows = (
                labels_of.order_by()
                .values("entity_type")
                .annotate(n=Count("column__asset_id", distinct=True))
                .order_by("-n", "entity_type")[:limit]
            )
            facets[facet] = [FacetValue(r["entity_type"], r["entity_type"], r["n"]) for r in rows]
        else:
            rows = base.values(facet).annotate(n=Count("pk")).order_by("-n", facet)[:limit]
            labels = choice_labels[facet]
            facets[facet] = [FacetValue(r[facet], str(labels.get(r[facet], r[facet])), r["n"]) for r in rows]
    return facets


def label_origins(*, user: Any, classifications: Sequence[Classification]) -> dict[int, Column]:
    """The columns a propagated label names in its evidence (its origin and the path it came
    along), that ``user`` may see, by id: one query whatever the number of labels. A column the
    user may not see is simply absent (the page says so without naming it)."""
    wanted: set[int] = set()
    for classification in classifications:
        evidence = classification.evidence if isinstance(classification.evidence, dict) else {}
        origin = evidence.get("origin") if isinstance(evidence.get("origin"), dict) else {}
        for value in [origin.get("column_id"), *(evidence.get("path") or [])]:
            if isinstance(value, int):
                wanted.add(value)
    if not wanted:
        return {}
    return {c.pk: c for c in Column.objects.restrict(user, VIEW).filter(pk__in=wanted).select_related("asset")}


@dataclass(frozen=True)
class HistoryEntry:
    """One change to an asset or its columns/labels, for the asset page's History tab."""

    when: Any
    who: str
    what: str  # the action (ledger) or "created"/"changed" (row history)
    target: str  # "asset", "column <name>", "label <entity type> on <column>"
    fields: tuple[str, ...]
    reason: str = ""
    seq: int | None = None


# fields of the asset's row history worth showing as changed (bookkeeping fields left out)
_HISTORY_FIELDS = (
    "name",
    "qualified_name",
    "kind",
    "description",
    "status",
    "sensitivity",
    "domain_id",
    "location",
    "processing_purposes",
    "legal_basis",
    "data_subject_categories",
    "recipients",
    "international_transfers",
    "retention_days",
    "storage_country",
)


def asset_history(*, user: Any, asset: DataAsset, columns: Sequence[Column], limit: int = 50) -> tuple[str, list[HistoryEntry]]:
    """Who changed what on ``asset`` (which ``user`` may already see), newest first.

    With the ``audit`` action (auditors, admins) it is the audit ledger: every event whose target
    is the asset, one of ``columns`` or one of their labels, with actor, action, reason and the
    changed field names (two queries). Without it, as the ledger API refuses them, it is the
    asset row's own history (simple_history): when each field changed, not by whom (one query).
    Returns ``("ledger" | "rows", entries)``."""
    from audit.models import AuditEvent

    if user_can(user, AUDIT):
        column_names = {str(c.pk): c.name for c in columns}
        labels = {str(cl.pk): cl for c in columns for cl in c.classifications.all()}
        events = (
            AuditEvent.objects.restrict(user, AUDIT)
            .filter(
                Q(target_type="catalog.dataasset", target_id=str(asset.pk))
                | Q(target_type="catalog.column", target_id__in=list(column_names))
                | Q(target_type="catalog.classification", target_id__in=list(labels))
            )
            .select_related("entry")
            .order_by("-id")[:limit]
        )
        entries = []
        for event in events:
            if event.target_type == "catalog.column":
                target = f"column {column_names.get(event.target_id, event.target_id)}"
            elif event.target_type == "catalog.classification":
                label = labels.get(event.target_id)
                target = f"label {label.entity_type} on {column_names.get(str(label.column_id), '?')}" if label else "label"
            else:
                target = "asset"
            details = event.details if isinstance(event.details, dict) else {}
            changes = details.get("changes") if isinstance(details.get("changes"), dict) else {}
            fields = tuple(sorted(changes)) or tuple(str(f) for f in details.get("fields", []) if isinstance(f, str))
            who = event.actor_name or f"{event.actor_type}:{event.actor_id}"
            entries.append(HistoryEntry(event.occurred_at, who, event.action, target, fields, event.reason, event.seq))
        return "ledger", entries
    records = list(DataAsset.history.filter(id=asset.pk).select_related("history_user").order_by("-history_id")[: limit + 1])
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        if len(entries) == limit:
            break
        if older is None:
            what, fields = "created", ()
        else:
            what = "changed"
            fields = tuple(f for f in _HISTORY_FIELDS if getattr(newer, f) != getattr(older, f))
            if not fields:
                continue  # an m2m-only or bookkeeping save: nothing to show in the row history
        who = newer.history_user.get_username() if newer.history_user else ""
        entries.append(HistoryEntry(newer.history_date, who, what, "asset", tuple(f.removesuffix("_id") for f in fields)))
    return "rows", entries


def asset_page_detail(*, user: Any) -> QuerySet[DataAsset]:
    """Like :func:`asset_detail`, for the asset page: columns in order with their tags, terms and
    labels, each label with the steward who decided it (a fixed number of queries per asset)."""
    labels = Classification.objects.select_related("decided_by", "created_by").order_by("entity_type", "source")
    columns = Column.objects.order_by("position", "name").prefetch_related(
        "tags", "glossary_terms", Prefetch("classifications", queryset=labels)
    )
    return asset_list(user=user).prefetch_related(Prefetch("columns", queryset=columns))


COUNT_CAP = 1000


def search_page(
    *,
    user: Any,
    query: str,
    types: tuple[str, ...] = SEARCH_TYPES,
    assets: QuerySet[DataAsset] | None = None,
    limit: int = 20,
    count_cap: int | None = None,
) -> tuple[list[SearchHit], dict[str, int], set[str]]:
    """:func:`search` for the search page, reading each type's table once where it can.

    Same matching, scoping and hits as :func:`search` (``assets`` narrows asset and column hits),
    but each type's rows are fetched first in primary-key order (the scan stops after ``limit``
    rows for a common word) and counted only when the page is full, and then up to ``count_cap``
    + 1 (a counted subquery that stops there too). Returns ``(hits, totals, capped)``: ``capped``
    names the types whose total is at least ``count_cap`` + 1 rather than exact ("1000+");
    ``count_cap`` defaults to :data:`COUNT_CAP`."""
    count_cap = COUNT_CAP if count_cap is None else count_cap
    querysets = _search_querysets(user, query, assets)
    hits: list[SearchHit] = []
    totals: dict[str, int] = {}
    capped: set[str] = set()
    for kind in types:
        qs = querysets[kind].order_by("pk")
        rows = list(qs[: limit + 1]) if limit else []
        if limit and len(rows) <= limit:
            totals[kind] = len(rows)
        else:
            totals[kind] = qs.order_by()[: count_cap + 1].count()
            if totals[kind] > count_cap:
                capped.add(kind)
        exact_first = sorted(rows[:limit], key=lambda obj: (obj.name.lower() != query.lower(), obj.name.lower()))
        for obj in exact_first:
            context, asset_id = "", None
            if kind == "asset":
                context, asset_id = f"{obj.source.name}:{obj.qualified_name}", obj.pk
            elif kind == "column":
                context, asset_id = obj.asset.qualified_name, obj.asset_id
            hits.append(SearchHit(kind, obj.pk, obj.name, obj.description[:300], context, asset_id))
    return hits, totals, capped
