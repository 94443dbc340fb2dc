"""Marquez's HTTP API (``spec/openapi.yml`` v0.51), served under ``/marquez/api/v1/``.

A Marquez client configured with the base URL ``http://HOST/marquez`` (and an OpenLineage
producer pointed there) works against Custos without clashing with Custos's own ``/api/v1``.
Authentication is the Custos Bearer token (``Authorization: Bearer cst_...``); reads need
``view`` and are scoped by the reading user, ``POST /lineage`` needs ``add`` (the same intake
service as ``/api/v1/lineage``). Path parameters arrive URL-encoded (``postgres%3A%2F%2Fdb``);
Django decodes them, so the routes split on Marquez's fixed path words. Lists take ``limit``
(default 100) and ``offset``. Errors use Custos's error envelope.

Writes (``PUT`` namespace, dataset and tag, ``POST`` tagging) call :mod:`lineage.marquez_services`,
which check the role and audit. Marquez's deprecated job and run writes (``PUT`` job, ``POST``
runs, ``/jobs/runs/{id}/start|complete|fail|abort``) and source ``PUT`` answer 405 naming the way
Custos takes them: OpenLineage events.
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.permissions import ADD, CHANGE, VIEW
from core.api.errors import error_response
from core.api.views import CustosAPIView
from lineage import marquez, marquez_services, selectors
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
    except (selectors.NodeNotFound, LookupError) as exc:
        raise NotFound(str(exc).strip("'")) from None
    except ValueError as exc:
        raise ValidationError({"request": [str(exc)]}) from None


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


class _MarquezList(CustosAPIView):
    """A Marquez list: ``{<key>: [...]}``, with ``"totalCount": n`` where Marquez's spec lists it
    (datasets, jobs, events; not namespaces, sources, tags, runs or versions)."""

    key = ""
    counted = False

    def items(self, request, **kwargs) -> list:
        raise NotImplementedError

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, **kwargs):
        limit, offset = _paging(request)
        items = _found(self.items, request=request, **kwargs)
        body = {self.key: items[offset : offset + limit]}
        if self.counted:
            body["totalCount"] = len(items)
        return Response(body)


class NamespacesView(_MarquezList):
    key = "namespaces"

    def items(self, request):
        return marquez.namespaces(user=request.user)


class NamespaceView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str):
        return Response(_found(marquez.namespace, user=request.user, name=namespace))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, namespace: str):
        _found(
            marquez_services.marquez_namespace_put,
            actor=request.user,
            name=namespace,
            description=_body(request).get("description"),
        )
        return Response(_found(marquez.namespace, user=request.user, name=namespace))


class SourcesView(_MarquezList):
    key = "sources"

    def items(self, request):
        return marquez.sources(user=request.user)


class SourceView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, source: str):
        return Response(_found(marquez.source, user=request.user, name=source))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, source: str):
        return _openlineage_only("sources (a source is an OpenLineage dataset namespace)")


class DatasetsView(_MarquezList):
    key = "datasets"
    counted = True

    def items(self, request, namespace: str):
        return marquez.datasets(user=request.user, namespace_name=namespace)


class DatasetView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, dataset: str):
        return Response(_found(marquez.dataset, user=request.user, namespace_name=namespace, name=dataset))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, namespace: str, dataset: str):
        _found(marquez_services.marquez_dataset_put, actor=request.user, namespace=namespace, name=dataset, body=request.data)
        return Response(_found(marquez.dataset, user=request.user, namespace_name=namespace, name=dataset))


class DatasetVersionsView(_MarquezList):
    key = "versions"

    def items(self, request, namespace: str, dataset: str):
        return marquez.dataset_versions(user=request.user, namespace_name=namespace, name=dataset)


class DatasetVersionView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, dataset: str, version: str):
        return Response(
            _found(marquez.dataset_version, user=request.user, namespace_name=namespace, name=dataset, version=version)
        )


class DatasetTagView(CustosAPIView):
    """``POST .../datasets/{dataset}/tags/{tag}`` and ``.../fields/{field}/tags/{tag}`` (``change``)."""

    permission_actions = {"POST": CHANGE}

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, namespace: str, dataset: str, tag: str, field: str | None = None):
        asset = _found(marquez.dataset_asset, user=request.user, namespace_name=namespace, name=dataset)
        _found(marquez_services.marquez_dataset_tag, actor=request.user, asset=asset, tag_name=tag, field=field)
        return Response(_found(marquez.dataset, user=request.user, namespace_name=namespace, name=dataset))


class JobsView(_MarquezList):
    key = "jobs"
    counted = True

    def items(self, request, namespace: str):
        return marquez.jobs(user=request.user, namespace_name=namespace)


class JobView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, job: str):
        return Response(_found(marquez.job, user=request.user, namespace_name=namespace, name=job))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, namespace: str, job: str):
        return _openlineage_only("jobs")


class JobRunsView(_MarquezList):
    key = "runs"

    def items(self, request, namespace: str, job: str):
        return marquez.job_runs(user=request.user, namespace_name=namespace, name=job)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, **kwargs):
        return _openlineage_only("runs")


def _openlineage_only(what: str):
    return error_response(
        f"Custos takes {what} from OpenLineage events only: POST /marquez/api/v1/lineage",
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        code="not_supported",
    )


class JobVersionsView(_MarquezList):
    key = "versions"

    def items(self, request, namespace: str, job: str):
        return marquez.job_versions(user=request.user, namespace_name=namespace, name=job)


class JobVersionView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, namespace: str, job: str, version: str):
        return Response(_found(marquez.job_version, user=request.user, namespace_name=namespace, name=job, version=version))


class RunFacetsView(CustosAPIView):
    """``GET /jobs/runs/{id}/facets?type=run|job``."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, run_id: str):
        facet_type = request.query_params.get("type", "run")
        return Response(_found(marquez.run_facets, user=request.user, run_id=run_id, facet_type=facet_type))


class RunStateView(CustosAPIView):
    """Marquez's deprecated ``POST /jobs/runs/{id}/start|complete|fail|abort``: 405."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, run_id: str, action: str):
        return _openlineage_only("run states")


class ColumnLineageView(CustosAPIView):
    """``GET /column-lineage?nodeId=dataset:..|datasetField:..|job:..&depth=N&withDownstream=true``."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        depth = _depth(request)
        downstream = request.query_params.get("withDownstream", "false").lower()
        if downstream not in ("true", "false"):
            raise ValidationError({"withDownstream": ["must be true or false"]})
        node_id = request.query_params.get("nodeId", "")
        return Response(
            _found(marquez.column_lineage, user=request.user, node_id=node_id, depth=depth, with_downstream=downstream == "true")
        )


def _depth(request) -> int:
    raw = request.query_params.get("depth", "")
    try:
        depth = int(raw) if raw else 20
    except ValueError:
        raise ValidationError({"depth": ["must be an integer"]}) from None
    return max(0, min(depth, 100))


class SearchView(CustosAPIView):
    """``GET /search?q=&filter=dataset|job&sort=name|updated_at&limit=&namespace=&before=&after=``."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        params = request.query_params
        q = params.get("q", "")
        if not q:
            raise ValidationError({"q": ["required"]})
        filter_type = (params.get("filter") or "").lower() or None
        if filter_type not in (None, "dataset", "job"):
            raise ValidationError({"filter": ["must be dataset or job"]})
        sort = (params.get("sort") or "name").lower()
        if sort not in ("name", "updated_at"):
            raise ValidationError({"sort": ["must be name or updated_at"]})
        limit, _ = _paging(request)
        days = {}
        for name in ("before", "after"):
            if params.get(name):
                days[name] = _found(marquez.parse_day, value=params[name], name=name)
        results = marquez.search(
            user=request.user, q=q, filter_type=filter_type, sort=sort, namespace_name=params.get("namespace") or None, **days
        )
        return Response({"totalCount": len(results), "results": results[:limit]})


class RunView(CustosAPIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, run_id: str):
        return Response(_found(marquez.run, user=request.user, run_id=run_id))


class TagsView(_MarquezList):
    key = "tags"

    def items(self, request):
        return marquez.tags(user=request.user)


class TagView(CustosAPIView):
    """``PUT /tags/{tag} {"description"}``: create or describe a tag."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, tag: str):
        found = _found(
            marquez_services.marquez_tag_put, actor=request.user, name=tag, description=_body(request).get("description")
        )
        return Response({"name": found.name, "description": found.description or None})


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
    throttle_intake = True  # POSTs count against the lineage_intake rate (accounts/throttling.py)
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
            return Response(marquez.lineage(user=request.user, node_id=node_id, depth=max(0, min(depth, 100))))
        except selectors.NodeNotFound as exc:
            raise NotFound(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"nodeId": [str(exc)]}) from None


def _r(pattern: str, view, name: str):
    return re_path(rf"^{pattern}/?$", view.as_view(), name=f"marquez-{name}")


DS = r"namespaces/(?P<namespace>.+?)/datasets/(?P<dataset>.+)"
JOB = r"namespaces/(?P<namespace>.+?)/jobs/(?P<job>.+)"
UUID = r"[0-9a-fA-F-]{36}"

urlpatterns = [
    _r("namespaces", NamespacesView, "namespaces"),
    _r(r"namespaces/(?P<namespace>.+?)/datasets", DatasetsView, "datasets"),
    _r(rf"{DS}/versions/(?P<version>{UUID})", DatasetVersionView, "dataset-version"),
    _r(rf"{DS}/versions", DatasetVersionsView, "dataset-versions"),
    _r(rf"{DS}/fields/(?P<field>[^/]+)/tags/(?P<tag>[^/]+)", DatasetTagView, "dataset-field-tag"),
    _r(rf"{DS}/tags/(?P<tag>[^/]+)", DatasetTagView, "dataset-tag"),
    _r(DS, DatasetView, "dataset"),
    _r(r"namespaces/(?P<namespace>.+?)/jobs", JobsView, "jobs"),
    _r(rf"{JOB}/versions/(?P<version>{UUID})", JobVersionView, "job-version"),
    _r(rf"{JOB}/versions", JobVersionsView, "job-versions"),
    _r(rf"{JOB}/runs", JobRunsView, "job-runs"),
    _r(JOB, JobView, "job"),
    _r(r"namespaces/(?P<namespace>.+)", NamespaceView, "namespace"),
    _r("sources", SourcesView, "sources"),
    _r(r"sources/(?P<source>.+)", SourceView, "source"),
    _r(rf"jobs/runs/(?P<run_id>{UUID})/facets", RunFacetsView, "run-facets"),
    _r(rf"jobs/runs/(?P<run_id>{UUID})/(?P<action>start|complete|fail|abort)", RunStateView, "run-state"),
    _r(rf"jobs/runs/(?P<run_id>{UUID})", RunView, "run"),
    _r("tags", TagsView, "tags"),
    _r(r"tags/(?P<tag>[^/]+)", TagView, "tag"),
    _r("events/lineage", EventsView, "events"),
    _r("events", EventsView, "events-client"),
    _r(r"events/(?P<namespace>.+)", EventsView, "events-namespace"),
    _r("lineage", LineageView, "lineage"),
    _r("column-lineage", ColumnLineageView, "column-lineage"),
    _r("search", SearchView, "search"),
]
