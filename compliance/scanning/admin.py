"""Admin for scan runs: read-only pages (scans are started from the API, the command or a task),
with a cancel action that is a thin caller of ``services.scan_cancel`` (role-checked and audited
there). ``permissions=["change"]`` hides the action from roles without ``change`` (auditors,
viewers): Django asks ``has_change_permission``, answered from the role matrix by
``accounts.backends.RolePermissionBackend``. Stewards confirm or reject the suggested
classifications a scan writes in the catalog admin (Classifications)."""

from __future__ import annotations

from django.contrib import admin

from compliance.scanning import services
from compliance.scanning.models import ScanRun
from core.admin import CustosModelAdmin, service_action


@admin.register(ScanRun)
class ScanRunAdmin(CustosModelAdmin):
    list_display = [
        "id",
        "asset",
        "location",
        "status",
        "progress",
        "rows_total",
        "rows_sampled",
        "started_by",
        "created_at",
        "seconds",
    ]
    list_filter = ["status"]
    search_fields = ["location", "asset__qualified_name"]
    actions = ["cancel_scans"]
    readonly_fields = [f.name for f in ScanRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # the list page's cancel action only: a run's page is read-only for everyone
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user).select_related("asset", "started_by")

    @service_action(
        description="Cancel the selected scans",
        permissions=["change"],
        warning="A cancelled scan stops at its next chunk and cannot be resumed (start a new one).",
        summary=lambda run: f"{run.status}, {run.progress:.0%} done",
    )
    def cancel_scans(self, request, run, *, reason):
        services.scan_cancel(run=run, actor=request.user, reason=reason)
