"""Monitors, profiles, batches, runs, results and alerts are shown, never edited here: writes go through
monitoring.services (API or commands), which check roles and audit them."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Alert, LoggedBatch, Monitor, MonitorResult, MonitorRun, ReferenceProfile


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
