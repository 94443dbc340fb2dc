from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, nobody edits or deletes events, admin included."""

    list_display = ("id", "occurred_at", "actor_name", "action", "target_type", "target_id")
    list_filter = ("action", "target_type", "actor_type")
    search_fields = ("action", "target_type", "target_id", "actor_name", "reason")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
