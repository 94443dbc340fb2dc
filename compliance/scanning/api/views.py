"""PII scanning API: start a scan (202, runs on Celery workers), follow it, cancel it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import CHANGE
from compliance.scanning import selectors, services
from compliance.scanning.api import serializers as s
from compliance.scanning.filters import ScanRunFilterSet


class ScanRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``POST /scans`` queues a scan and answers 202 at once; ``GET /scans/{id}`` shows its progress and findings."""

    serializer_class = s.ScanRunSerializer
    filterset_class = ScanRunFilterSet
    ordering_fields = ["created_at", "finished_at", "status"]
    permission_action = None  # set per @action (cancel needs "change"); DRF only accepts declared attributes

    def get_queryset(self):
        return selectors.scan_list(user=self.request.user)

    @extend_schema(request=s.ScanStartSerializer, responses={202: s.ScanRunSerializer})
    def create(self, request):
        form = s.ScanStartSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        run = services.scan_start(
            actor=request.user,
            asset=data.get("asset"),
            location=data.get("location") or "",
            sample_size=data["sample_size"],
            seed=data["seed"],
            column_hints=data["column_hints"],
        )
        run.refresh_from_db()
        return Response(s.ScanRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.ScanCancelSerializer, responses=s.ScanRunSerializer)
    @action(detail=True, methods=["post"], permission_action=CHANGE)
    def cancel(self, request, pk=None):
        form = s.ScanCancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = services.scan_cancel(run=self.get_object(), actor=request.user, reason=form.validated_data["reason"])
        return Response(s.ScanRunSerializer(run).data)
