"""Admin for scan runs: read-only (scans are started from the API or the command), with a cancel
action that goes through the service so it is audited. Stewards confirm or reject the suggested
classifications a scan writes in the catalog admin (Classifications)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from compliance.scanning import services
from compliance.scanning.models import ScanRun


@admin.register(ScanRun)
class ScanRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "asset",
        "location",
        "status",
        "progress",
        "rows_total",
        "rows_sampled",
        "created_by",
        "created_at",
        "seconds",
    ]
    list_filter = ["status"]
    search_fields = ["location", "asset__qualified_name"]
    actions = ["cancel_scans"]
    readonly_fields = [f.name for f in ScanRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user).select_related("asset", "created_by")

    @admin.action(description="Cancel the selected scans")
    def cancel_scans(self, request, queryset):
        cancelled = 0
        for run in queryset:
            try:
                services.scan_cancel(run=run, actor=request.user, reason="cancelled in admin")
                cancelled += 1
            except ValidationError:
                continue
        self.message_user(request, f"{cancelled} scan(s) cancelled", messages.SUCCESS)
