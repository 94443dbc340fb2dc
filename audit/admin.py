"""Read-only admin for the ledger: the log is append-only, nobody edits or deletes, admin included."""

from django.contrib import admin

from audit.models import AuditEvent, Checkpoint
from core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "seq", "occurred_at", "actor_name", "action", "target_type", "target_id")
    list_filter = ("action", "target_type", "actor_type")
    search_fields = ("action", "target_type", "target_id", "actor_name", "reason")
    date_hierarchy = "occurred_at"
    list_select_related = ("entry",)
    exclude = ("body", "leaf_hash")
    readonly_fields = ("seq", "body_text")

    @admin.display(description="canonical body")
    def body_text(self, obj):
        return bytes(obj.body).decode("utf-8", errors="replace")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("entry__body")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "key_id", "created_at")
    exclude = ("root_hash",)
    ordering = ("-tree_size",)
