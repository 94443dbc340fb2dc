"""Catalog API: declarative viewsets over selectors (reads) and services (writes)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.permissions import DECIDE
from catalog import selectors, services
from catalog.api import serializers as s
from catalog.filters import (
    ClassificationFilterSet,
    ColumnFilterSet,
    DataAssetFilterSet,
    DataSourceFilterSet,
    MLModelFilterSet,
    ModelVersionFilterSet,
)
from catalog.models import DataSource, Domain, GlossaryTerm, Tag
from core.api.views import CustosAPIView
from core.api.viewsets import RestrictedGenericViewSet, ServiceModelViewSet


class DomainViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.DomainSerializer
    selector = staticmethod(lambda user: Domain.objects.restrict(user).select_related("owner"))
    create_service = staticmethod(services.domain_create)
    update_service = staticmethod(services.domain_update)
    delete_service = staticmethod(services.domain_delete)
    instance_kwarg = "domain"
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]


class TagViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.TagSerializer
    selector = staticmethod(lambda user: Tag.objects.restrict(user))
    create_service = staticmethod(services.tag_create)
    update_service = staticmethod(services.tag_update)
    delete_service = staticmethod(services.tag_delete)
    instance_kwarg = "tag"
    ordering_fields = ["name", "created_at"]


class GlossaryTermViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.GlossaryTermSerializer
    selector = staticmethod(lambda user: GlossaryTerm.objects.restrict(user).select_related("domain"))
    create_service = staticmethod(services.glossary_term_create)
    update_service = staticmethod(services.glossary_term_update)
    delete_service = staticmethod(services.glossary_term_delete)
    instance_kwarg = "term"
    ordering_fields = ["name", "created_at"]


class DataSourceViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.DataSourceSerializer
    filterset_class = DataSourceFilterSet
    selector = staticmethod(lambda user: DataSource.objects.restrict(user).select_related("owner"))
    create_service = staticmethod(services.source_create)
    update_service = staticmethod(services.source_update)
    delete_service = staticmethod(services.source_delete)
    instance_kwarg = "source"
    ordering_fields = ["name", "created_at"]


class DataAssetViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    """Assets. ``DELETE`` is a soft delete (status ``deleted``); the asset and its history stay."""

    filterset_class = DataAssetFilterSet
    create_service = staticmethod(services.asset_register)
    update_service = staticmethod(services.asset_update)
    delete_service = staticmethod(services.asset_delete)
    instance_kwarg = "asset"
    ordering_fields = ["name", "qualified_name", "created_at", "updated_at", "sensitivity"]

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.asset_detail(user=self.request.user)
        return selectors.asset_list(user=self.request.user)

    def get_serializer_class(self):
        return s.DataAssetDetailSerializer if self.action == "retrieve" else s.DataAssetSerializer

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return selectors.attach_asset_stats(page) if page is not None else None

    def get_object(self):
        return selectors.attach_asset_stats([super().get_object()])[0]

    def perform_create(self, serializer):
        super().perform_create(serializer)
        selectors.attach_asset_stats([serializer.instance])

    def perform_update(self, serializer):
        super().perform_update(serializer)
        selectors.attach_asset_stats([serializer.instance])


class ColumnViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.ColumnSerializer
    filterset_class = ColumnFilterSet
    selector = staticmethod(selectors.column_list)
    create_service = staticmethod(services.column_create)
    update_service = staticmethod(services.column_update)
    delete_service = staticmethod(services.column_delete)
    instance_kwarg = "column"
    ordering_fields = ["asset", "position", "name"]


class ClassificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    """Classifications are read here; stewards assign, confirm and reject them with actions."""

    serializer_class = s.ClassificationSerializer
    filterset_class = ClassificationFilterSet
    permission_actions = {"POST": DECIDE}
    ordering_fields = ["created_at", "confidence", "entity_type"]

    def get_queryset(self):
        return selectors.classification_list(user=self.request.user)

    @extend_schema(request=s.ClassificationAssignSerializer, responses=s.ClassificationSerializer)
    def create(self, request):
        form = s.ClassificationAssignSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        classification = services.classification_assign(
            column=data["column"],
            entity_type=data["entity_type"].upper(),
            sensitivity=data["sensitivity"],
            actor=request.user,
            reason=data["reason"],
        )
        return Response(s.ClassificationSerializer(classification).data, status=201)

    @extend_schema(request=s.DecisionSerializer, responses=s.ClassificationSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        form = s.DecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        classification = services.classification_confirm(
            classification=self.get_object(), actor=request.user, reason=form.validated_data["reason"]
        )
        return Response(s.ClassificationSerializer(classification).data)

    @extend_schema(request=s.DecisionSerializer, responses=s.ClassificationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        form = s.DecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        classification = services.classification_reject(
            classification=self.get_object(), actor=request.user, reason=form.validated_data["reason"]
        )
        return Response(s.ClassificationSerializer(classification).data)


class MLModelViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.MLModelSerializer
    filterset_class = MLModelFilterSet
    selector = staticmethod(selectors.model_list)
    create_service = staticmethod(services.model_create)
    update_service = staticmethod(services.model_update)
    delete_service = staticmethod(services.model_delete)
    instance_kwarg = "model"
    ordering_fields = ["name", "created_at"]


class ModelVersionViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    serializer_class = s.ModelVersionSerializer
    filterset_class = ModelVersionFilterSet
    selector = staticmethod(selectors.model_version_list)
    create_service = staticmethod(services.model_version_register)
    update_service = staticmethod(services.model_version_update)
    delete_service = staticmethod(services.model_version_delete)
    instance_kwarg = "model_version"
    ordering_fields = ["created_at", "version", "stage"]


class SearchView(CustosAPIView):
    """One query over asset, column, model, tag and glossary names and descriptions.

    Asset filters (owner, domain, source, tag, sensitivity, has_pii, entity_type, status) narrow
    asset and column hits. Returns up to ``limit`` hits per type and the total per type.
    Token callers are rate limited as an expensive read (accounts.throttling).
    """

    throttle_expensive = True

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Text to look for"),
            OpenApiParameter("type", OpenApiTypes.STR, description="Comma-separated: asset,column,model,tag,glossary_term"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Max hits per type (1-200, default 20)"),
        ],
        responses=s.SearchResponseSerializer,
    )
    def get(self, request):
        query = request.query_params.get("q", "").strip()
        types = tuple(t for t in request.query_params.get("type", "").split(",") if t) or selectors.SEARCH_TYPES
        unknown = set(types) - set(selectors.SEARCH_TYPES)
        if unknown:
            # never echo what was sent (it may be anything a user typed): name what is allowed
            raise ValidationError({"type": [f"Not one of the allowed values: {', '.join(selectors.SEARCH_TYPES)}."]})
        try:
            limit = max(1, min(200, int(request.query_params.get("limit", 20))))
        except ValueError:
            raise ValidationError({"limit": ["must be an integer"]}) from None
        # ``q`` is the search text, not an asset filter: kept, it would drop every column hit whose asset's own text misses it
        filters = request.query_params.copy()
        filters.pop("q", None)
        asset_filter = DataAssetFilterSet(filters, queryset=selectors.asset_list(user=request.user), request=request)
        if not asset_filter.is_valid():
            raise ValidationError(asset_filter.errors)
        hits, totals = selectors.search(user=request.user, query=query, types=types, assets=asset_filter.qs, limit=limit)
        return Response({"query": query, "totals": totals, "results": s.SearchHitSerializer(hits, many=True).data})
