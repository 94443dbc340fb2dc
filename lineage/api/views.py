"""Lineage API: OpenLineage intake, Marquez-compatible read, graph queries and exports.

Thin views: parse, call one service or selector, shape the response. Every view is a core
``CustosAPIView`` (the project's permission classes, no way to loosen them); reads are scoped by
the reading user in the selectors (restricted assets stay invisible to viewers, through lineage
too), writes checked again by the services.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.permissions import ADD, DECIDE, VIEW
from core.api.errors import error_response
from core.api.views import CustosAPIView
from lineage import exports, selectors
from lineage.api.parsers import OpenLineageJSONParser
from lineage.models import Edge
from lineage.openlineage import EventInvalid, event_ingest, event_ingest_batch, parse_time
from lineage.services import edge_set_propagation

MAX_BATCH = 1000


class LineageView(CustosAPIView):
    """``POST``: one OpenLineage event (the HTTP transport's endpoint). ``GET``: Marquez's lineage read."""

    parser_classes = [OpenLineageJSONParser]
    throttle_intake = True  # POSTs count against the lineage_intake rate (accounts/throttling.py)
    permission_actions = {"POST": ADD, "GET": VIEW}

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
        summary="Ingest one OpenLineage event",
    )
    def post(self, request):
        try:
            result = event_ingest(payload=request.data, actor=request.user)
        except EventInvalid as exc:
            return error_response(str(exc))
        return Response(result, status=status.HTTP_201_CREATED if result["status"] == "applied" else status.HTTP_200_OK)

    @extend_schema(
        parameters=[OpenApiParameter("nodeId", str, required=True), OpenApiParameter("depth", int)],
        responses=OpenApiTypes.OBJECT,
        summary="Marquez-compatible lineage graph around a dataset or job",
    )
    def get(self, request):
        node_id = request.query_params.get("nodeId", "")
        depth = _int_param(request, "depth", 20, maximum=100)
        try:
            graph = selectors.marquez_lineage(user=request.user, node_id=node_id, depth=depth)
        except selectors.NodeNotFound as exc:
            raise NotFound(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"nodeId": [str(exc)]}) from None
        return Response(graph)


class LineageBatchView(CustosAPIView):
    """A JSON array of events; each is applied on its own, so one bad event loses no other."""

    parser_classes = [OpenLineageJSONParser]
    throttle_intake = True  # POSTs count against the lineage_intake rate (accounts/throttling.py)
    permission_actions = {"POST": ADD}

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 207: OpenApiTypes.OBJECT},
        summary="Ingest a batch of OpenLineage events",
    )
    def post(self, request):
        events = request.data
        if isinstance(events, dict) and isinstance(events.get("events"), list):
            events = events["events"]
        if not isinstance(events, list):
            return error_response("request body: must be a JSON array of OpenLineage events")
        if len(events) > MAX_BATCH:
            return error_response(f"request body: at most {MAX_BATCH} events per batch")
        results = event_ingest_batch(payloads=events, actor=request.user)
        rejected = sum(1 for r in results if r["status"] == "invalid")
        body = {"accepted": len(results) - rejected, "rejected": rejected, "results": results}
        if rejected and rejected == len(results):
            body["error"] = {
                "status": 400,
                "code": "invalid",
                "message": f"all {rejected} events invalid; first: {results[0]['error']}",
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=207 if rejected else status.HTTP_200_OK)


def _int_param(request, name: str, default: int, *, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["must be an integer"]}) from None
    if not 0 <= value <= maximum:
        raise ValidationError({name: [f"must be between 0 and {maximum}"]})
    return value


def _at_param(request):
    raw = request.query_params.get("at")
    if not raw:
        return None
    try:
        return parse_time(raw, "at")
    except EventInvalid:
        raise ValidationError({"at": ["must be an RFC 3339 date-time with offset, e.g. 2025-01-31T00:00:00Z"]}) from None


def _node_param(request, name: str = "node") -> str:
    value = request.query_params.get(name, "")
    if not value:
        raise ValidationError({name: ["required, e.g. asset:12, column:40, model_version:3"]})
    return value


def _call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except selectors.NodeNotFound as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise ValidationError({"node": [str(exc)]}) from None


class GraphView(CustosAPIView):
    """``GET /lineage/graph?node=asset:12&direction=upstream|downstream|both&depth=3&level=asset|column&at=...``"""

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, required=True, description="asset:<id>, column:<id>, job:<id> or model_version:<id>"),
            OpenApiParameter("direction", str, enum=["upstream", "downstream", "both"]),
            OpenApiParameter("depth", int),
            OpenApiParameter("level", str, enum=["asset", "column"]),
            OpenApiParameter("at", str, description="RFC 3339 time: the graph as of then"),
            OpenApiParameter("export", str, enum=["json", "node-link", "graphml", "dot"]),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Upstream/downstream lineage of a node, or its export",
    )
    def get(self, request):
        direction = request.query_params.get("direction", "both")
        if direction not in ("upstream", "downstream", "both"):
            raise ValidationError({"direction": ["must be upstream, downstream or both"]})
        level = request.query_params.get("level", "asset")
        if level not in ("asset", "column"):
            raise ValidationError({"level": ["must be asset or column"]})
        sub = _call(
            selectors.lineage,
            user=request.user,
            node=_node_param(request),
            direction=direction,
            depth=_int_param(request, "depth", 3, maximum=50),
            level=level,
            at=_at_param(request),
        )
        fmt = request.query_params.get("export", "json")
        if fmt == "json":
            return Response(selectors.describe(sub, user=request.user))
        return _export(sub, fmt, request.user)


def _export(sub, fmt: str, user) -> HttpResponse:
    described = selectors.describe(sub, user=user)
    if fmt == "node-link":
        return HttpResponse(exports.node_link_json(described), content_type="application/json")
    if fmt == "graphml":
        return HttpResponse(exports.graphml(described), content_type="application/graphml+xml")
    if fmt == "dot":
        return HttpResponse(exports.dot(described), content_type="text/vnd.graphviz")
    raise ValidationError({"export": ["must be json, node-link, graphml or dot"]})


class ImpactView(CustosAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, required=True, description="asset:<id>, column:<id>, job:<id> or model_version:<id>"),
            OpenApiParameter("at", str, description="RFC 3339 time: the graph as of then"),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Impact analysis grouped by type",
    )
    def get(self, request):
        return Response(_call(selectors.impact, user=request.user, node=_node_param(request), at=_at_param(request)))


class ProvenanceView(CustosAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="RFC 3339 time: the graph as of then")],
        responses=OpenApiTypes.OBJECT,
        summary="Full provenance of a model version",
    )
    def get(self, request, pk: int):
        return Response(_call(selectors.model_provenance, user=request.user, model_version_id=pk, at=_at_param(request)))


class PathView(CustosAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True),
            OpenApiParameter("to", str, required=True),
            OpenApiParameter("at", str, description="RFC 3339 time: the graph as of then"),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Shortest path between two nodes",
    )
    def get(self, request):
        return Response(
            _call(
                selectors.path,
                user=request.user,
                source=_node_param(request, "from"),
                target=_node_param(request, "to"),
                at=_at_param(request),
            )
        )


class WhyPiiView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Why is this column PII: classifications with their propagation path")
    def get(self, request, pk: int):
        return Response(_call(selectors.why_pii, user=request.user, column_id=pk))


class ModelsDependingView(CustosAPIView):
    """``GET /lineage/models-depending?entity_type=EMAIL_ADDRESS&stage=production``"""

    @extend_schema(
        parameters=[OpenApiParameter("entity_type", str, required=True), OpenApiParameter("stage", str)],
        responses=OpenApiTypes.OBJECT,
        summary="Model versions depending on data classified as an entity type",
    )
    def get(self, request):
        entity_type = request.query_params.get("entity_type", "").upper()
        if not entity_type:
            raise ValidationError({"entity_type": ["required, e.g. EMAIL_ADDRESS"]})
        stage = request.query_params.get("stage", "production") or None
        return Response(selectors.models_depending_on(user=request.user, entity_type=entity_type, stage=stage))


class EdgePropagationView(CustosAPIView):
    """``POST /lineage/edges/<id>/propagation {"propagation": "block"|"allow"|"auto", "reason": "..."}`` (stewards)."""

    permission_actions = {"POST": DECIDE}

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT, summary="Block or allow PII propagation over one edge"
    )
    def post(self, request, pk: int):
        edge = get_object_or_404(Edge, pk=pk)
        if not selectors.edge_visible(edge, user=request.user):
            raise NotFound()
        propagation = request.data.get("propagation") if isinstance(request.data, dict) else None
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        edge = edge_set_propagation(edge=edge, propagation=str(propagation or ""), actor=request.user, reason=str(reason)[:500])
        return Response({"id": edge.pk, "propagation": edge.propagation, "stops_propagation": edge.stops_propagation})
