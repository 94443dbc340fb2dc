"""Admin: read-only views of jobs, runs, raw events and edges; stewards block or allow PII
propagation over an edge with an audited action that calls ``edge_set_propagation`` (which
checks the role matrix itself). Graph pages are linked from each row."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.permissions import DECIDE
from core.admin import ReadOnlyAdmin, service_action
from lineage.choices import NodeType, Propagation
from lineage.models import DatasetAlias, DatasetFacets, Edge, Job, LineageEvent, Run
from lineage.services import edge_set_propagation


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


@admin.register(DatasetFacets)
class DatasetFacetsAdmin(ReadOnlyAdmin):
    """The facets kept per asset; ``suggested_description`` is a documentation facet's text that
    was not applied because a steward wrote the asset's description."""

    list_display = ("asset", "suggested_description", "updated_at")
    search_fields = ("asset__qualified_name",)
    list_select_related = ("asset",)


@admin.register(DatasetAlias)
class DatasetAliasAdmin(ReadOnlyAdmin):
    list_display = ("namespace", "name", "asset", "kind", "created_at")
    search_fields = ("namespace", "name", "asset__qualified_name")
    list_select_related = ("asset",)


def _edge_state(edge: Edge) -> str:
    return f"{edge.src_key} → {edge.dst_key}, propagation {edge.propagation}, masking {edge.masking}"


def _set(edge: Edge, propagation: str, request, reason: str) -> bool:
    # the service decides (role first, then "already so": no change and no event)
    before = edge.propagation
    return edge_set_propagation(edge=edge, propagation=propagation, actor=request.user, reason=reason).propagation != before


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

    @service_action(
        description="Block PII propagation over selected edges",
        permissions=[DECIDE],
        warning="Labels stop flowing over these edges; labels already propagated through them are withdrawn.",
        summary=_edge_state,
    )
    def block_propagation(self, request, edge: Edge, *, reason: str) -> bool:
        return _set(edge, Propagation.BLOCK, request, reason)

    @service_action(
        description="Allow PII propagation over selected edges (even if masking)",
        permissions=[DECIDE],
        summary=_edge_state,
    )
    def allow_propagation(self, request, edge: Edge, *, reason: str) -> bool:
        return _set(edge, Propagation.ALLOW, request, reason)

    @service_action(description="Reset propagation to automatic", permissions=[DECIDE], summary=_edge_state)
    def reset_propagation(self, request, edge: Edge, *, reason: str) -> bool:
        return _set(edge, Propagation.AUTO, request, reason)
