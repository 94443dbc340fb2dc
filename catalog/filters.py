"""One FilterSet per model, shared by the API lists and the pages."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from catalog.choices import AssetKind, AssetStatus, ClassificationState, ModelStage, Sensitivity
from catalog.models import Classification, Column, DataAsset, DataSource, MLModel, ModelVersion
from catalog.selectors import LIVE_STATES

# The largest primary key any supported database stores (a signed 64-bit integer). A bigger id
# names nothing; passed to SQLite it is an OverflowError (issue 17, item 2: a 500 before).
MAX_ID = 2**63 - 1


def _is_id(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts ``²`` and other digits ``int`` refuses)."""
    return value.isascii() and value.isdigit()


def _by_pk_or_name(queryset, field: str, value: str, name_lookup: str):
    """Accept either a primary key or a name for a related filter; an id beyond MAX_ID matches nothing."""
    if _is_id(value):
        pk = int(value)
        return queryset.filter(**{f"{field}__pk": pk}) if pk <= MAX_ID else queryset.none()
    return queryset.filter(**{f"{field}__{name_lookup}": value})


NOT_ALLOWED = "Not one of the allowed values."


class CatalogFilterSet(filters.FilterSet):
    """Base of every catalog FilterSet: a value outside a choice list is refused without repeating
    it (it may be anything a user typed, e.g. personal data pasted into the wrong box)."""

    @classmethod
    def get_filters(cls):
        # runs once per class, declared and Meta-generated filters alike, before any form field exists
        found = super().get_filters()
        for declared in found.values():
            if isinstance(declared, filters.ChoiceFilter | filters.MultipleChoiceFilter):
                declared.extra["error_messages"] = {**declared.extra.get("error_messages", {}), "invalid_choice": NOT_ALLOWED}
        return found


class IdFilter(filters.NumberFilter):
    """An id: a whole number from 0 to MAX_ID, anything else a 400 naming the parameter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def _live_pii(owner: str, **extra) -> Exists:
    """EXISTS a suggested or confirmed classification under the outer row (``owner`` is the path
    from Classification to it: ``column`` or ``column__asset``)."""
    return Exists(Classification.objects.filter(**{owner: OuterRef("pk")}, state__in=LIVE_STATES, **extra))


def _filter_has_pii(queryset, owner: str, value: bool):
    pii = _live_pii(owner)
    return queryset.filter(pii) if value else queryset.exclude(pii)


class DataSourceFilterSet(CatalogFilterSet):
    q = filters.CharFilter(method="filter_q")

    class Meta:
        model = DataSource
        fields = ["kind", "country", "namespace"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(namespace__icontains=value) | Q(description__icontains=value))


class DataAssetFilterSet(CatalogFilterSet):
    q = filters.CharFilter(method="filter_q", label="Text in name, qualified name or description")
    owner = filters.CharFilter(method="filter_owner", label="Owner (id or username)")
    steward = filters.CharFilter(method="filter_steward", label="Steward (id or username)")
    domain = filters.CharFilter(method="filter_domain", label="Domain (id or name)")
    source = filters.CharFilter(method="filter_source", label="Source (id, name or namespace)")
    tag = filters.CharFilter(method="filter_tag", label="Tag (id or name)")
    glossary_term = filters.CharFilter(method="filter_term", label="Glossary term (id or name)")
    sensitivity = filters.MultipleChoiceFilter(choices=Sensitivity.choices)
    status = filters.MultipleChoiceFilter(choices=AssetStatus.choices)
    kind = filters.MultipleChoiceFilter(choices=AssetKind.choices)
    has_pii = filters.BooleanFilter(method="filter_has_pii", label="Has a suggested or confirmed PII classification")
    entity_type = filters.CharFilter(method="filter_entity_type", label="Holds this PII entity type")

    class Meta:
        model = DataAsset
        fields = ["legal_basis", "storage_country"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(qualified_name__icontains=value) | Q(description__icontains=value))

    def filter_owner(self, queryset, name, value):
        return _by_pk_or_name(queryset, "owners", value, "username").distinct()

    def filter_steward(self, queryset, name, value):
        return _by_pk_or_name(queryset, "stewards", value, "username").distinct()

    def filter_domain(self, queryset, name, value):
        return _by_pk_or_name(queryset, "domain", value, "name")

    def filter_source(self, queryset, name, value):
        if _is_id(value):
            return queryset.filter(source__pk=int(value)) if int(value) <= MAX_ID else queryset.none()
        return queryset.filter(Q(source__name=value) | Q(source__namespace=value))

    def filter_tag(self, queryset, name, value):
        return _by_pk_or_name(queryset, "tags", value, "name").distinct()

    def filter_term(self, queryset, name, value):
        return _by_pk_or_name(queryset, "glossary_terms", value, "name").distinct()

    def filter_has_pii(self, queryset, name, value):
        return _filter_has_pii(queryset, "column__asset", value)

    def filter_entity_type(self, queryset, name, value):
        return queryset.filter(_live_pii("column__asset", entity_type=value.upper()))


class ColumnFilterSet(CatalogFilterSet):
    q = filters.CharFilter(method="filter_q")
    asset = IdFilter(field_name="asset_id")
    tag = filters.CharFilter(method="filter_tag")
    has_pii = filters.BooleanFilter(method="filter_has_pii")
    entity_type = filters.CharFilter(method="filter_entity_type")

    class Meta:
        model = Column
        fields = ["data_type", "nullable"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_tag(self, queryset, name, value):
        return _by_pk_or_name(queryset, "tags", value, "name").distinct()

    def filter_has_pii(self, queryset, name, value):
        return _filter_has_pii(queryset, "column", value)

    def filter_entity_type(self, queryset, name, value):
        return queryset.filter(_live_pii("column", entity_type=value.upper()))


class ClassificationFilterSet(CatalogFilterSet):
    asset = IdFilter(field_name="column__asset_id")
    state = filters.MultipleChoiceFilter(choices=ClassificationState.choices)
    entity_type = filters.CharFilter(method="filter_entity_type")

    class Meta:
        model = Classification
        fields = ["column", "source", "sensitivity"]

    def filter_entity_type(self, queryset, name, value):
        return queryset.filter(entity_type=value.upper())


class MLModelFilterSet(CatalogFilterSet):
    q = filters.CharFilter(method="filter_q")
    owner = filters.CharFilter(method="filter_owner")
    domain = filters.CharFilter(method="filter_domain")
    tag = filters.CharFilter(method="filter_tag")

    class Meta:
        model = MLModel
        fields = ["task"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_owner(self, queryset, name, value):
        return _by_pk_or_name(queryset, "owner", value, "username")

    def filter_domain(self, queryset, name, value):
        return _by_pk_or_name(queryset, "domain", value, "name")

    def filter_tag(self, queryset, name, value):
        return _by_pk_or_name(queryset, "tags", value, "name").distinct()


class ModelVersionFilterSet(CatalogFilterSet):
    stage = filters.MultipleChoiceFilter(choices=ModelStage.choices)
    trained_on = IdFilter(field_name="training_datasets", label="Trained on asset id")

    class Meta:
        model = ModelVersion
        fields = ["model", "framework"]
