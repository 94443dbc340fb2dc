"""Monitors, profiles, batches, runs, results and alerts are shown, never edited here: writes go through
monitoring.services (API or commands), which check roles and audit them. Quality suites have two
confirmed actions (a reason each) calling the same services as the API: run the selected suites now,
and acknowledge / resolve the selected quality alerts."""

from django.contrib import admin

from accounts.permissions import ADD, CHANGE, user_can
from core.admin import ReadOnlyAdmin, service_action

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


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "model_version", "task", "schedule_minutes", "active", "last_run_at"]
    list_filter = ["active", "task"]
    search_fields = ["name"]


@admin.register(ReferenceProfile)
class ReferenceProfileAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "model_version", "rows", "dataset_sha256", "created_at"]
    exclude = ["profile"]


@admin.register(LoggedBatch)
class LoggedBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "kind", "source", "rows", "sha256", "received_at"]
    list_filter = ["kind", "source"]


@admin.register(MonitorRun)
class MonitorRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "monitor", "status", "trigger", "rows", "dataset_drift", "share_drifted", "finished_at"]
    list_filter = ["status", "trigger", "dataset_drift"]


@admin.register(MonitorResult)
class MonitorResultAdmin(ReadOnlyAdmin):
    list_display = ["id", "run", "kind", "name", "method", "score", "threshold", "flagged"]
    list_filter = ["kind", "flagged"]
    search_fields = ["name"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "monitor", "kind", "subject", "state", "opened_at", "acknowledged_by", "resolved_at"]
    list_filter = ["state", "kind"]
    search_fields = ["subject"]


class _Scoped(ReadOnlyAdmin):
    """Rows through restrict(): a restricted asset's suite is hidden as in the API."""

    def get_queryset(self, request):
        return self.model.objects.restrict(request.user)

    def has_monitoring_add_permission(self, request, obj=None):
        return user_can(request.user, ADD)

    def has_monitoring_change_permission(self, request, obj=None):
        return user_can(request.user, CHANGE)


@admin.register(QualitySuite)
class QualitySuiteAdmin(_Scoped):
    list_display = ["id", "name", "asset", "reference_asset", "schedule_minutes", "on_new_data", "active", "last_run_at"]
    list_filter = ["active", "on_new_data"]
    search_fields = ["name"]
    exclude = ["baseline"]
    actions = ["run_now"]

    @service_action(description="Run the selected quality suites now", permissions=["monitoring_add"])
    def run_now(self, request, suite, *, reason):
        from monitoring.services import quality_suite_run

        quality_suite_run(actor=request.user, suite=suite, reason=reason)
        return True


@admin.register(QualityRun)
class QualityRunAdmin(_Scoped):
    list_display = ["id", "suite", "status", "trigger", "rows", "finished_at"]
    list_filter = ["status", "trigger"]


@admin.register(QualityCheckResult)
class QualityCheckResultAdmin(_Scoped):
    list_display = ["id", "run", "name", "score", "threshold", "flagged"]
    list_filter = ["check_name", "flagged"]
    search_fields = ["name"]


@admin.register(QualityAlert)
class QualityAlertAdmin(_Scoped):
    list_display = ["id", "suite", "subject", "state", "opened_at", "acknowledged_by", "resolved_at"]
    list_filter = ["state"]
    search_fields = ["subject"]
    actions = ["acknowledge", "resolve"]

    @service_action(description="Acknowledge the selected quality alerts", permissions=["monitoring_change"])
    def acknowledge(self, request, alert, *, reason):
        from monitoring.services import quality_alert_acknowledge

        quality_alert_acknowledge(actor=request.user, alert=alert, reason=reason)
        return True

    @service_action(description="Resolve the selected quality alerts", permissions=["monitoring_change"])
    def resolve(self, request, alert, *, reason):
        from monitoring.services import quality_alert_resolve

        quality_alert_resolve(actor=request.user, alert=alert, reason=reason)
        return True
