"""Catalog API shapes. Related people, tags, terms and domains are written by name; sources,
assets, columns and models by id."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from catalog.models import (
    Classification,
    Column,
    DataAsset,
    DataSource,
    Domain,
    GlossaryTerm,
    MLModel,
    ModelVersion,
    Tag,
)

User = get_user_model()


# Error messages that could echo what the caller sent (a username, an id, a choice) are replaced by
# generic ones: docs/api.md promises no submitted value in an error, and an echoed name plus
# "does not exist" would tell who exists. The same answer for "unknown" and "not visible to you".
GENERIC_MESSAGES = {
    "does_not_exist": "No such object, or you may not use it.",
    "incorrect_type": "Wrong type of value.",
    "invalid_choice": "Not one of the allowed values.",
    "invalid": "Not a valid value.",
}


def _generic_messages(field) -> None:
    for key, message in GENERIC_MESSAGES.items():
        if key in field.error_messages:
            field.error_messages[key] = message


class RestrictedRelationsMixin:
    """Scope every writable relation to what the requesting user may see, so an id the user
    cannot read is answered like an id that does not exist; no error message echoes a value."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            _generic_messages(field)
            _generic_messages(target)
            queryset = getattr(target, "queryset", None)
            if request is not None and queryset is not None and hasattr(queryset, "restrict"):
                target.queryset = queryset.restrict(request.user, "view")
        return fields


class DecisionReasonMixin(serializers.Serializer):
    """A write-only ``reason``: recorded with the change in the audit ledger; required in practice
    for steward decisions (location, lowering sensitivity, renaming a classified column)."""

    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)


def _users(**kwargs):
    return serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(), **kwargs)


class DomainSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    owner = _users(required=False, allow_null=True)

    class Meta:
        model = Domain
        fields = ["id", "name", "description", "owner", "created_at", "updated_at"]


class TagSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "description", "created_at", "updated_at"]


class GlossaryTermSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    domain = serializers.SlugRelatedField(slug_field="name", queryset=Domain.objects.all(), required=False, allow_null=True)

    class Meta:
        model = GlossaryTerm
        fields = ["id", "name", "description", "domain", "created_at", "updated_at"]


class DataSourceSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    owner = _users(required=False, allow_null=True)

    class Meta:
        model = DataSource
        fields = [
            "id",
            "name",
            "kind",
            "namespace",
            "description",
            "connection",
            "owner",
            "location",
            "country",
            "created_at",
            "updated_at",
        ]


class ClassificationSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    asset = serializers.IntegerField(source="column.asset_id", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Classification
        fields = [
            "id",
            "column",
            "asset",
            "entity_type",
            "sensitivity",
            "source",
            "state",
            "confidence",
            "evidence",
            "created_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = ["source", "state", "confidence", "evidence", "created_at", "decided_at", "decision_reason"]


class ColumnSerializer(RestrictedRelationsMixin, DecisionReasonMixin, serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Tag.objects.all(), required=False)
    glossary_terms = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=GlossaryTerm.objects.all(), required=False
    )
    classifications = ClassificationSerializer(many=True, read_only=True)

    class Meta:
        model = Column
        fields = [
            "id",
            "asset",
            "name",
            "position",
            "data_type",
            "nullable",
            "description",
            "tags",
            "glossary_terms",
            "classifications",
            "former_names",
            "reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["former_names"]


class DataAssetSerializer(RestrictedRelationsMixin, DecisionReasonMixin, serializers.ModelSerializer):
    owners = _users(many=True, required=False)
    stewards = _users(many=True, required=False)
    domain = serializers.SlugRelatedField(slug_field="name", queryset=Domain.objects.all(), required=False, allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Tag.objects.all(), required=False)
    glossary_terms = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=GlossaryTerm.objects.all(), required=False
    )
    has_pii = serializers.BooleanField(read_only=True)
    column_count = serializers.IntegerField(read_only=True)
    name = serializers.CharField(required=False, max_length=200)

    class Meta:
        model = DataAsset
        fields = [
            "id",
            "source",
            "qualified_name",
            "name",
            "kind",
            "description",
            "status",
            "sensitivity",
            "owners",
            "stewards",
            "domain",
            "tags",
            "glossary_terms",
            "location",
            "processing_purposes",
            "legal_basis",
            "data_subject_categories",
            "recipients",
            "international_transfers",
            "retention_days",
            "storage_country",
            "has_pii",
            "column_count",
            "reason",
            "created_at",
            "updated_at",
        ]
        # A UniqueConstraint with a message of its own is checked by full_clean in the service.
        validators: list = []


class DataAssetDetailSerializer(DataAssetSerializer):
    columns = ColumnSerializer(many=True, read_only=True)

    class Meta(DataAssetSerializer.Meta):
        fields = [*DataAssetSerializer.Meta.fields, "columns"]


class ModelVersionSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "version",
            "stage",
            "framework",
            "algorithm",
            "training_datasets",
            "evaluation_datasets",
            "features",
            "hyperparameters",
            "metrics",
            "intended_use",
            "limitations",
            "ethical_considerations",
            "dpia_reference",
            "artifact_uri",
            "created_at",
            "updated_at",
        ]
        validators: list = []


class MLModelSerializer(RestrictedRelationsMixin, serializers.ModelSerializer):
    owner = _users(required=False, allow_null=True)
    domain = serializers.SlugRelatedField(slug_field="name", queryset=Domain.objects.all(), required=False, allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Tag.objects.all(), required=False)
    versions = serializers.SlugRelatedField(slug_field="version", many=True, read_only=True)

    class Meta:
        model = MLModel
        fields = ["id", "name", "description", "owner", "domain", "task", "tags", "versions", "created_at", "updated_at"]


class ClassificationAssignSerializer(RestrictedRelationsMixin, serializers.Serializer):
    column = serializers.PrimaryKeyRelatedField(queryset=Column.objects.all())
    entity_type = serializers.RegexField(r"^[A-Za-z][A-Za-z0-9_]{1,63}$")
    sensitivity = serializers.ChoiceField(choices=Classification._meta.get_field("sensitivity").choices, default="confidential")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SearchHitSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    context = serializers.CharField()
    asset_id = serializers.IntegerField(allow_null=True)


class SearchResponseSerializer(serializers.Serializer):
    """What ``GET /search`` answers (documentation only): the query as searched, the number of hits
    per type (every type searched, also those with no hit) and up to ``limit`` hits per type."""

    query = serializers.CharField()
    totals = serializers.DictField(child=serializers.IntegerField(min_value=0))
    results = SearchHitSerializer(many=True)
