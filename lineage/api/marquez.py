"""Marquez's HTTP API (``spec/openapi.yml`` v0.51), served under ``/marquez/api/v1/``.

A Marquez client configured with the base URL ``http://HOST/marquez`` (and an OpenLineage
producer pointed there) works against Custos without clashing with Custos's own ``/api/v1``.
Authentication is the Custos Bearer token (``Authorization: Bearer cst_...``); reads need
``view`` and are scoped by the reading user, ``POST /lineage`` needs ``add`` (the same intake
service as ``/api/v1/lineage``). Path parameters arrive URL-encoded (``postgres%3A%2F%2Fdb``);
Django decodes them, so the routes split on Marquez's fixed path words. Lists take ``limit``
(default 100) and ``offset``. Errors use Custos's error envelope.
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.permissions import ADD, VIEW
from core.api.errors import error_response
from core.api.views import CustosAPIView
from lineage import marquez, selectors
from lineage.api.parsers import OpenLineageJSONParser
from lineage.openlineage import EventInvalid, event_ingest

MAX_LIMIT = 1000


def _paging(request) -> tuple[int, int]:
    values = []
    for name, default in (("limit", 100), ("offset", 0)):
        raw = request.query_params.get(name, "")
        try:
            value = int(raw) if raw != "" else default
        except ValueError:
            raise ValidationError({name: ["must be an integer"]}) from None
        if value < 0 or (name == "limit" and value > MAX_LIMIT):
            raise ValidationError({name: [f"must be between 0 and {MAX_LIMIT}" if name == "limit" else "must be >= 0"]})
        values.append(value)
    return values[0], values[1]


def _found(fn, **kwargs):
    try:
        return fn(**kwargs)
    except selectors.NodeNotFound as exc:
        raise NotFound(str(exc)) from None


class _MarquezList(CustosAPIView):
    """A Marquez list: ``{<key>: [...], "totalCount": n}``."""

    key = ""

    def items(self, request, **kwargs) -> list:
        raise NotImplementedError

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, **kwargs):
        limit, offset = _paging(request)
        items = _found(self.items, request=request, **kwargs)
        return Response({self.key: items[offset : offset + limit], "totalCount": len(items)})


class NamespacesView(_MarquezList):
    key = "namespaces"

    def items(self, request):
        return marquez.namespaces(user=request.user)


class NamespaceView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str):
        return Response(_found(marquez.namespace, user=request.user, name=namespace))


class SourcesView(_MarquezList):
    key = "sources"

    def items(self, request):
        return marquez.sources(user=request.user)


class SourceView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, source: str):
        return Response(_found(marquez.source, user=request.user, name=source))


class DatasetsView(_MarquezList):
    key = "datasets"

    def items(self, request, namespace: str):
        return marquez.datasets(user=request.user, namespace_name=namespace)


class DatasetView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, dataset: str):
        return Response(_found(marquez.dataset, user=request.user, namespace_name=namespace, name=dataset))


class JobsView(_MarquezList):
    key = "jobs"

    def items(self, request, namespace: str):
        return marquez.jobs(user=request.user, namespace_name=namespace)


class JobView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, job: str):
        return Response(_found(marquez.job, user=request.user, namespace_name=namespace, name=job))


class JobRunsView(_MarquezList):
    key = "runs"

    def items(self, request, namespace: str, job: str):
        return marquez.job_runs(user=request.user, namespace_name=namespace, name=job)


class RunView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, run_id: str):
        return Response(_found(marquez.run, user=request.user, run_id=run_id))


class TagsView(_MarquezList):
    key = "tags"

    def items(self, request):
        return marquez.tags(user=request.user)


class EventsView(CustosAPIView):
    """``GET /events/lineage`` (the spec) and ``/events[/<namespace>]`` (what marquez-python's
    ``list_events`` calls): the raw OpenLineage events, newest first, optionally of one job namespace."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str | None = None):
        limit, offset = _paging(request)
        events = marquez.events(user=request.user)
        if namespace is not None:
            events = events.filter(job_namespace=namespace)
        page = list(events.values_list("payload", flat=True)[offset : offset + limit])
        return Response({"events": page, "totalCount": events.count()})


class LineageView(CustosAPIView):
    """``POST``: one OpenLineage event (as ``/api/v1/lineage``). ``GET``: the lineage graph around ``nodeId``."""

    parser_classes = [OpenLineageJSONParser]
    permission_actions = {"POST": ADD, "GET": VIEW}

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        try:
            result = event_ingest(payload=request.data, actor=request.user)
        except EventInvalid as exc:
            return error_response(str(exc))
        return Response(result, status=status.HTTP_201_CREATED if result["status"] == "applied" else status.HTTP_200_OK)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        node_id = request.query_params.get("nodeId", "")
        raw = request.query_params.get("depth", "")
        try:
            depth = int(raw) if raw else 20
        except ValueError:
            raise ValidationError({"depth": ["must be an integer"]}) from None
        try:
            return Response(selectors.marquez_lineage(user=request.user, node_id=node_id, depth=max(0, min(depth, 100))))
        except selectors.NodeNotFound as exc:
            raise NotFound(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"nodeId": [str(exc)]}) from None


def _r(pattern: str, view, name: str):
    return re_path(rf"^{pattern}/?$", view.as_view(), name=f"marquez-{name}")


urlpatterns = [
    _r("namespaces", NamespacesView, "namespaces"),
    _r(r"namespaces/(?P<namespace>.+?)/datasets", DatasetsView, "datasets"),
    _r(r"namespaces/(?P<namespace>.+?)/datasets/(?P<dataset>.+)", DatasetView, "dataset"),
    _r(r"namespaces/(?P<namespace>.+?)/jobs", JobsView, "jobs"),
    _r(r"namespaces/(?P<namespace>.+?)/jobs/(?P<job>.+)/runs", JobRunsView, "job-runs"),
    _r(r"namespaces/(?P<namespace>.+?)/jobs/(?P<job>.+)", JobView, "job"),
    _r(r"namespaces/(?P<namespace>.+)", NamespaceView, "namespace"),
    _r("sources", SourcesView, "sources"),
    _r(r"sources/(?P<source>.+)", SourceView, "source"),
    _r(r"jobs/runs/(?P<run_id>[0-9a-fA-F-]{36})", RunView, "run"),
    _r("tags", TagsView, "tags"),
    _r("events/lineage", EventsView, "events"),
    _r("events", EventsView, "events-client"),
    _r(r"events/(?P<namespace>.+)", EventsView, "events-namespace"),
    _r("lineage", LineageView, "lineage"),
]
