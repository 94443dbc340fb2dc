from __future__ import annotations

from rest_framework import serializers

from catalog.models import DataAsset, ModelVersion
from monitoring.explain.engine import METHODS
from monitoring.explain.models import Explanation, FairnessAssessment, ModelArtifact


class ModelArtifactSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelArtifact
        fields = ["id", "model_version", "format", "sha256", "size", "source", "source_uri", "trusted", "created_at"]
        read_only_fields = fields


class ArtifactUploadSerializer(serializers.Serializer):
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    file = serializers.FileField()


class ExplainRequestSerializer(serializers.Serializer):
    """Either ``rows`` (feature values) or ``prediction_id`` (a decision logged through monitoring)."""

    rows = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000, required=False)
    prediction_id = serializers.CharField(max_length=200, required=False)
    method = serializers.ChoiceField(choices=METHODS, required=False)
    background = serializers.ListField(child=serializers.DictField(), required=False, min_length=1, max_length=1000)
    seed = serializers.IntegerField(required=False, default=0)
    permutations = serializers.IntegerField(required=False, default=64, min_value=1, max_value=5000)

    def validate(self, attrs):
        if ("rows" in attrs) == ("prediction_id" in attrs):
            raise serializers.ValidationError("give rows or a prediction_id")
        if "prediction_id" in attrs and "background" in attrs:
            raise serializers.ValidationError("a logged prediction is explained against its own batch; no background")
        return attrs


class ExplanationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Explanation
        fields = [
            "id",
            "model_version",
            "artifact",
            "scope",
            "explainer",
            "engine_version",
            "output",
            "base_value",
            "rows",
            "parameters",
            "dataset_sha256",
            "sample_size",
            "background_sha256",
            "background_size",
            "seed",
            "max_abs_residual",
            "result",
            "summary",
            "top_contributions",
            "created_at",
        ]
        read_only_fields = fields

    top_contributions = serializers.SerializerMethodField()

    def get_top_contributions(self, obj) -> list[dict]:
        """The first row's five largest contributions by magnitude (local explanations; else empty)."""
        if not obj.rows:
            return []
        items = sorted(obj.rows[0].get("contributions", {}).items(), key=lambda kv: -abs(kv[1]))[:5]
        return [{"feature": k, "contribution": v} for k, v in items]


class FairnessRequestSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=1000, required=False)
    asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False)
    prediction = serializers.CharField(max_length=200)
    group = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=5, required=False)
    label = serializers.CharField(max_length=200, required=False)
    positive = serializers.CharField(max_length=200, required=False)
    reference = serializers.CharField(max_length=200, required=False)
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all(), required=False)
    bootstrap = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2000)
    seed = serializers.IntegerField(required=False, default=0)
    min_group_size = serializers.IntegerField(required=False, default=30, min_value=1)
    limits = serializers.DictField(
        child=serializers.FloatField(min_value=0), required=False, allow_empty=True,
        help_text="limits of difference metrics checked as findings with model_version: demographic_parity_difference, "
        "equalized_odds_difference, equal_opportunity_difference",
    )  # fmt: skip


class ProductionFairnessRequestSerializer(serializers.Serializer):
    """``POST /explain/model-versions/{id}/fairness``: the version's logged decisions
    (``services.fairness_check_production``)."""

    group = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=5)
    prediction = serializers.CharField(max_length=200, required=False, help_text="default: the version's prediction column")
    label = serializers.CharField(max_length=200, required=False, help_text="joined by prediction id from label batches")
    positive = serializers.CharField(max_length=200, required=False)
    batch_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, min_length=1, max_length=1000,
        help_text="these logged prediction batches only (default: every visible one)",
    )  # fmt: skip
    bootstrap = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2000)
    seed = serializers.IntegerField(required=False, default=0)
    min_group_size = serializers.IntegerField(required=False, default=30, min_value=1)
    limits = serializers.DictField(child=serializers.FloatField(min_value=0), required=False, allow_empty=True)


class FairnessAssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = FairnessAssessment
        fields = [
            "id",
            "model_version",
            "attributes",
            "prediction_column",
            "label_column",
            "report",
            "flagged",
            "dataset_sha256",
            "n",
            "created_at",
        ]
        read_only_fields = fields


class GlobalExplainRequestSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=1000)
    label = serializers.CharField(max_length=200)
    scoring = serializers.CharField(max_length=64, required=False)
    n_repeats = serializers.IntegerField(required=False, default=5, min_value=1, max_value=50)
    seed = serializers.IntegerField(required=False, default=0)
    sample_size = serializers.IntegerField(required=False, default=2000, min_value=10, max_value=100_000)
    features = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=20)


class ModelCardSerializer(serializers.Serializer):
    """The model card document (monitoring/explain/card.py; docs/explain.md "Model card")."""

    schema = serializers.CharField()
    generated_at = serializers.DateTimeField()
    model_version_id = serializers.IntegerField()
    model_details = serializers.DictField()
    model_parameters = serializers.DictField()
    quantitative_analysis = serializers.DictField()
    considerations = serializers.DictField()
    annex_iv = serializers.DictField()
    missing = serializers.ListField(child=serializers.CharField())
