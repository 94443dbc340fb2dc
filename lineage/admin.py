"""Admin: read-only views of jobs, runs, raw events and edges; stewards block or allow PII
propagation over an edge with an audited action. Graph pages are linked from each row."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from lineage.choices import NodeType, Propagation
from lineage.models import Edge, Job, LineageEvent, Run
from lineage.services import edge_set_propagation


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows come from OpenLineage intake and lineage services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("name", "namespace", "job_type", "parent", "updated_at")
    search_fields = ("name", "namespace")


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("run_id", "job", "state", "started_at", "ended_at", "submitted_by")
    list_filter = ("state",)
    search_fields = ("run_id", "job__name")
    list_select_related = ("job",)


@admin.register(LineageEvent)
class LineageEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "kind", "event_type", "job_name", "run_id", "producer")
    list_filter = ("kind", "event_type")
    search_fields = ("job_name", "run_id")


@admin.register(Edge)
class EdgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "source", "target", "masking", "propagation", "valid_from", "valid_to", "actor", "graph")
    list_filter = ("kind", "masking", "propagation", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("=src_id", "=dst_id", "description")
    actions = ["block_propagation", "allow_propagation", "reset_propagation"]

    @admin.display(description="from")
    def source(self, obj: Edge) -> str:
        return obj.src_key

    @admin.display(description="to")
    def target(self, obj: Edge) -> str:
        return obj.dst_key

    @admin.display(description="lineage")
    def graph(self, obj: Edge) -> str:
        for node_type, node_id in ((obj.src_type, obj.src_id), (obj.dst_type, obj.dst_id)):
            if node_type == NodeType.ASSET:
                return format_html('<a href="{}">graph</a>', reverse("lineage:asset", args=[node_id]))
            if node_type == NodeType.MODEL_VERSION:
                return format_html('<a href="{}">graph</a>', reverse("lineage:model_version", args=[node_id]))
        return "—"

    def _set(self, request, queryset, propagation: str) -> None:
        changed = 0
        for edge in queryset.filter(valid_to__isnull=True):
            edge_set_propagation(edge=edge, propagation=propagation, actor=request.user, reason="set in admin")
            changed += 1
        self.message_user(request, f"{changed} edge(s) set to {propagation}.", messages.SUCCESS)

    @admin.action(description="Block PII propagation over selected edges")
    def block_propagation(self, request, queryset):
        self._set(request, queryset, Propagation.BLOCK)

    @admin.action(description="Allow PII propagation over selected edges (even if masking)")
    def allow_propagation(self, request, queryset):
        self._set(request, queryset, Propagation.ALLOW)

    @admin.action(description="Reset propagation to automatic")
    def reset_propagation(self, request, queryset):
        self._set(request, queryset, Propagation.AUTO)
