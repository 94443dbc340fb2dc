"""Serializers of the monitoring API: explicit fields; writes are validated here and done by services."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import DataAsset, ModelVersion
from monitoring.choices import BatchKind
from monitoring.models import (
    Alert,
    LoggedBatch,
    Monitor,
    MonitorResult,
    MonitorRun,
    QualityAlert,
    QualityCheckResult,
    QualityRun,
    QualitySuite,
    ReferenceProfile,
)
from monitoring.services.monitors import EDITABLE
from monitoring.services.quality_suites import EDITABLE as SUITE_EDITABLE

MAX_JSON_ROWS = 10_000


class MonitorSerializer(serializers.ModelSerializer):
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    reference_asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False, allow_null=True)
    reference_profile = serializers.PrimaryKeyRelatedField(
        queryset=ReferenceProfile.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Monitor
        fields = ["id", "model_version", "reference_asset", "reference_profile", *EDITABLE, "last_run_at", "created_at"]
        read_only_fields = ["id", "last_run_at", "created_at"]


class MonitorUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Monitor
        fields = list(EDITABLE)
        extra_kwargs = {name: {"required": False} for name in EDITABLE}


class MonitorRunRequestSerializer(serializers.Serializer):
    batches = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10_000)


class ReferenceProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceProfile
        fields = [
            "id",
            "model_version",
            "name",
            "source_asset",
            "source_label",
            "rows",
            "columns",
            "dataset_sha256",
            "created_at",
        ]
        read_only_fields = fields


class ReferenceProfileCreateSerializer(serializers.Serializer):
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    name = serializers.CharField(max_length=200)
    asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False)
    location = serializers.CharField(max_length=1000, required=False)
    batches = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10_000)
    columns = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=5000)
    kinds = serializers.DictField(child=serializers.ChoiceField(choices=["num", "cat"]), required=False)


class LoggedBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoggedBatch
        fields = ["id", "model_version", "kind", "source", "rows", "columns", "sha256", "received_at"]
        read_only_fields = fields


class LoggedBatchCreateSerializer(serializers.Serializer):
    """JSON rows (``rows``), or a CSV/Parquet ``file`` (multipart)."""

    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    kind = serializers.ChoiceField(choices=BatchKind.choices, default=BatchKind.PREDICTIONS)
    rows = serializers.ListField(child=serializers.DictField(), required=False, min_length=1, max_length=MAX_JSON_ROWS)
    file = serializers.FileField(required=False)
    id_column = serializers.CharField(max_length=200, default="prediction_id")
    label_column = serializers.CharField(max_length=200, default="label")
    run = serializers.BooleanField(default=False, help_text="run the model version's active monitors after commit")

    def validate(self, attrs):
        if ("rows" in attrs) == ("file" in attrs):
            raise serializers.ValidationError("give rows (JSON) or a file (CSV/Parquet)")
        return attrs


class MonitorRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitorRun
        fields = [
            "id",
            "monitor",
            "status",
            "progress",
            "error",
            "trigger",
            "batch_ids",
            "rows",
            "current_sha256",
            "reference_label",
            "dataset_drift",
            "share_drifted",
            "summary",
            "library_versions",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields


class MonitorResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitorResult
        fields = ["id", "run", "kind", "name", "method", "score", "threshold", "threshold_source", "flagged", "details"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "monitor",
            "kind",
            "subject",
            "state",
            "message",
            "first_run",
            "last_run",
            "last_result",
            "opened_at",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledge_reason",
            "resolved_by",
            "resolved_at",
            "resolve_reason",
        ]
        read_only_fields = fields


class AlertReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class QualitySuiteSerializer(serializers.ModelSerializer):
    asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all())
    reference_asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False, allow_null=True)

    class Meta:
        model = QualitySuite
        fields = [
            "id",
            "asset",
            "reference_asset",
            *SUITE_EDITABLE,
            "baseline_label",
            "baseline_sha256",
            "last_run_at",
            "created_at",
        ]
        read_only_fields = ["id", "baseline_label", "baseline_sha256", "last_run_at", "created_at"]


class QualitySuiteUpdateSerializer(serializers.ModelSerializer):
    rebaseline = serializers.BooleanField(required=False, default=False, help_text="re-read the baseline now")

    class Meta:
        model = QualitySuite
        fields = [*SUITE_EDITABLE, "rebaseline"]
        extra_kwargs = {name: {"required": False} for name in SUITE_EDITABLE}


class QualityRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityRun
        fields = [
            "id",
            "suite",
            "trigger",
            "status",
            "error",
            "started_by",
            "started_at",
            "finished_at",
            "rows",
            "current_sha256",
            "baseline_sha256",
            "summary",
            "library_versions",
            "created_at",
        ]
        read_only_fields = fields


class QualityCheckResultSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_name", read_only=True)

    class Meta:
        model = QualityCheckResult
        fields = ["id", "run", "name", "check", "column", "score", "threshold", "threshold_source", "flagged", "details"]
        read_only_fields = fields


class QualityAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityAlert
        fields = [
            "id",
            "suite",
            "subject",
            "state",
            "message",
            "first_run",
            "last_run",
            "last_result",
            "opened_at",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledge_reason",
            "resolved_by",
            "resolved_at",
            "resolve_reason",
        ]
        read_only_fields = fields
