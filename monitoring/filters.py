"""One FilterSet per model, for the API lists (and pages when they come)."""

from __future__ import annotations

import django_filters as df

from .models import (
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


class MonitorFilterSet(df.FilterSet):
    class Meta:
        model = Monitor
        fields = ["model_version", "active", "task"]


class ReferenceProfileFilterSet(df.FilterSet):
    class Meta:
        model = ReferenceProfile
        fields = ["model_version"]


class LoggedBatchFilterSet(df.FilterSet):
    class Meta:
        model = LoggedBatch
        fields = ["model_version", "kind", "source"]


class MonitorRunFilterSet(df.FilterSet):
    model_version = df.NumberFilter(field_name="monitor__model_version")

    class Meta:
        model = MonitorRun
        fields = ["monitor", "status", "dataset_drift"]


class MonitorResultFilterSet(df.FilterSet):
    monitor = df.NumberFilter(field_name="run__monitor")

    class Meta:
        model = MonitorResult
        fields = ["run", "kind", "name", "flagged"]


class AlertFilterSet(df.FilterSet):
    model_version = df.NumberFilter(field_name="monitor__model_version")

    class Meta:
        model = Alert
        fields = ["monitor", "state", "kind"]


class QualitySuiteFilterSet(df.FilterSet):
    class Meta:
        model = QualitySuite
        fields = ["asset", "active"]


class QualityRunFilterSet(df.FilterSet):
    asset = df.NumberFilter(field_name="suite__asset")

    class Meta:
        model = QualityRun
        fields = ["suite", "status", "trigger"]


class QualityResultFilterSet(df.FilterSet):
    suite = df.NumberFilter(field_name="run__suite")
    check = df.CharFilter(field_name="check_name")

    class Meta:
        model = QualityCheckResult
        fields = ["run", "name", "flagged"]


class QualityAlertFilterSet(df.FilterSet):
    asset = df.NumberFilter(field_name="suite__asset")

    class Meta:
        model = QualityAlert
        fields = ["suite", "state"]
