"""PII scanning API: start a scan (202, runs on Celery workers), follow it, cancel it.

Built on core's ``RestrictedGenericViewSet``: list, detail and ``cancel`` are scoped by
``restrict(user, action)`` (a scan of a restricted asset is 404 to a role without
``view_restricted``). Writes are thin calls of ``compliance.scanning.services``, which check the
actor again and audit.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import CHANGE
from compliance.scanning import selectors, services
from compliance.scanning.api import serializers as s
from compliance.scanning.filters import ScanRunFilterSet
from core.api.viewsets import RestrictedGenericViewSet, mixins


class ScanRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    """``POST /scans`` queues a scan and answers 202 at once; ``GET /scans/{id}`` shows its progress and findings."""

    selector = staticmethod(selectors.scan_list)
    serializer_class = s.ScanRunSerializer
    filterset_class = ScanRunFilterSet
    ordering_fields = ["created_at", "finished_at", "status"]
    permission_action = None  # set per @action (cancel needs "change"); DRF only accepts declared attributes

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
