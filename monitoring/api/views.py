"""Monitoring API (mounted under /api/v1/):

* ``/monitoring/monitors`` list, detail, create (``add``), update (``change``); ``POST /monitoring/monitors/{id}/run`` (``add``)
* ``/monitoring/reference-profiles`` list, detail, create from an asset or a data location (``add``)
* ``/monitoring/batches`` list, detail, create: JSON ``rows`` or a CSV/Parquet ``file`` (multipart), predictions or labels
* ``/monitoring/runs``, ``/results`` list and detail (filters: monitor, run, kind, flagged ...)
* ``/monitoring/alerts`` list, detail; ``POST /monitoring/alerts/{id}/acknowledge`` and ``/resolve`` with a ``reason`` (``change``)
* ``/monitoring/quality-suites`` list, detail, create (``add``), update (``change``); ``POST .../{id}/run`` (``add``)
* ``/monitoring/quality-runs``, ``/quality-results`` list and detail; ``/monitoring/quality-alerts`` list, detail,
  ``POST .../{id}/acknowledge`` and ``/resolve`` with a ``reason`` (``change``)

Every read is scoped by restrict() (core's base viewsets); every write goes through monitoring.services.
"""

from __future__ import annotations

import pandas as pd
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import CHANGE, VIEW
from core.api.viewsets import RestrictedGenericViewSet
from monitoring import filters, plots, selectors, services
from monitoring.api import serializers as s
from monitoring.choices import ResultKind
from monitoring.models import LoggedBatch, ReferenceProfile


class MonitorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.MonitorSerializer
    selector = staticmethod(selectors.monitor_list)
    filterset_class = filters.MonitorFilterSet
    ordering_fields = ["created_at", "name", "last_run_at"]

    @extend_schema(request=s.MonitorSerializer, responses={201: s.MonitorSerializer})
    def create(self, request):
        form = s.MonitorSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        profile = data.get("reference_profile")
        if profile is not None and not _visible(ReferenceProfile, request.user, profile.pk):
            raise Http404("no such reference profile")
        monitor = services.monitor_create(actor=request.user, **data)
        return Response(s.MonitorSerializer(monitor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MonitorUpdateSerializer, responses=s.MonitorSerializer)
    def update(self, request, pk=None, partial=False):
        monitor = self.get_object()
        form = s.MonitorUpdateSerializer(monitor, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        monitor = services.monitor_update(actor=request.user, monitor=monitor, **form.validated_data)
        return Response(s.MonitorSerializer(monitor).data)

    @extend_schema(request=s.MonitorUpdateSerializer, responses=s.MonitorSerializer)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    @extend_schema(request=s.MonitorRunRequestSerializer, responses={201: s.MonitorRunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        monitor = self.get_object()
        form = s.MonitorRunRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        batches = None
        if "batches" in form.validated_data:
            ids = form.validated_data["batches"]
            batches = list(LoggedBatch.objects.restrict(request.user, VIEW).filter(pk__in=ids).order_by("pk"))
            if len(batches) != len(set(ids)):
                raise Http404("no such batch")
        run = services.monitor_run(actor=request.user, monitor=monitor, batches=batches)
        return Response(s.MonitorRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, description="feature, check (check:column) or metric"),
            OpenApiParameter("kind", str, description="result kind (default drift)"),
        ],
        responses={(200, "image/svg+xml"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], url_path="plot")
    def plot(self, request, pk=None):
        """A result's score over the monitor's runs, threshold dashed, flagged runs red (SVG)."""
        monitor = self.get_object()
        name, kind = request.query_params.get("name", ""), request.query_params.get("kind", "drift")
        if not name or kind not in ResultKind.values:
            raise ValidationError({"name": "give a result name and a known kind"})
        history = selectors.result_history(monitor=monitor, kind=kind, name=name)
        svg = plots.over_time_svg(
            f"{name} ({kind}) over runs of {monitor.name}",
            [run.finished_at for run, _ in history],
            [r.score for _, r in history],
            flagged=[r.flagged for _, r in history],
            threshold=history[-1][1].threshold if history else None,
        )
        return HttpResponse(svg, content_type="image/svg+xml")

    @extend_schema(parameters=[OpenApiParameter("feature", str)], responses={(200, "image/svg+xml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="distribution")
    def distribution(self, request, pk=None):
        """The feature's reference vs current distribution (latest successful run's window), as SVG."""
        monitor = self.get_object()
        feature = request.query_params.get("feature", "")
        shares = selectors.feature_distribution(monitor=monitor, feature=feature) if feature else None
        if shares is None:
            raise Http404("no run of this monitor holds that feature")
        svg = plots.distribution_svg(f"{feature}: reference vs current", *shares)
        return HttpResponse(svg, content_type="image/svg+xml")


class ReferenceProfileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.ReferenceProfileSerializer
    selector = staticmethod(selectors.reference_profile_list)
    filterset_class = filters.ReferenceProfileFilterSet

    @extend_schema(request=s.ReferenceProfileCreateSerializer, responses={201: s.ReferenceProfileSerializer})
    def create(self, request):
        form = s.ReferenceProfileCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        if "batches" in data:
            ids = set(data["batches"])
            data["batches"] = list(LoggedBatch.objects.restrict(request.user, VIEW).filter(pk__in=ids))
            if len(data["batches"]) != len(ids):
                raise Http404("no such batch")
        profile = services.reference_profile_create(actor=request.user, **data)
        return Response(s.ReferenceProfileSerializer(profile).data, status=status.HTTP_201_CREATED)


class LoggedBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.LoggedBatchSerializer
    selector = staticmethod(selectors.batch_list)
    filterset_class = filters.LoggedBatchFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=s.LoggedBatchCreateSerializer, responses={201: s.LoggedBatchSerializer})
    def create(self, request):
        from monitoring.tasks import on_new_batch

        form = s.LoggedBatchCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        user_id = request.user.pk
        common = {
            "actor": request.user,
            "model_version": d["model_version"],
            "kind": d["kind"],
            "id_column": d["id_column"],
            "label_column": d["label_column"],
            "after_commit": (lambda batch: on_new_batch(batch, user_id)) if d["run"] else None,
        }
        if "file" in d:
            upload = d["file"]
            fmt = "parquet" if upload.name.lower().endswith(".parquet") else "csv"
            batch = services.batch_log_file(data=upload.read(), file_format=fmt, **common)
        else:
            batch = services.batch_log(rows=pd.DataFrame(d["rows"]), **common)
        return Response(s.LoggedBatchSerializer(batch).data, status=status.HTTP_201_CREATED)


class MonitorRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.MonitorRunSerializer
    selector = staticmethod(selectors.run_list)
    filterset_class = filters.MonitorRunFilterSet
    ordering_fields = ["created_at", "finished_at"]


class MonitorResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.MonitorResultSerializer
    selector = staticmethod(selectors.result_list)
    filterset_class = filters.MonitorResultFilterSet


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.AlertSerializer
    selector = staticmethod(selectors.alert_list)
    filterset_class = filters.AlertFilterSet
    ordering_fields = ["opened_at", "state"]
    permission_action = None  # set per @action; DRF only accepts declared attributes

    @extend_schema(request=s.AlertReasonSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"], permission_action=CHANGE)
    def acknowledge(self, request, pk=None):
        form = s.AlertReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(actor=request.user, alert=self.get_object(), reason=form.validated_data["reason"])
        return Response(s.AlertSerializer(alert).data)

    @extend_schema(request=s.AlertReasonSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"], permission_action=CHANGE)
    def resolve(self, request, pk=None):
        form = s.AlertReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = services.alert_resolve(actor=request.user, alert=self.get_object(), reason=form.validated_data["reason"])
        return Response(s.AlertSerializer(alert).data)


class QualitySuiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.QualitySuiteSerializer
    selector = staticmethod(selectors.quality_suite_list)
    filterset_class = filters.QualitySuiteFilterSet
    ordering_fields = ["created_at", "name", "last_run_at"]

    @extend_schema(request=s.QualitySuiteSerializer, responses={201: s.QualitySuiteSerializer})
    def create(self, request):
        form = s.QualitySuiteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        suite = services.quality_suite_create(actor=request.user, **form.validated_data)
        return Response(s.QualitySuiteSerializer(suite).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QualitySuiteUpdateSerializer, responses=s.QualitySuiteSerializer)
    def update(self, request, pk=None, partial=False):
        suite = self.get_object()
        form = s.QualitySuiteUpdateSerializer(suite, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        suite = services.quality_suite_update(actor=request.user, suite=suite, **form.validated_data)
        return Response(s.QualitySuiteSerializer(suite).data)

    @extend_schema(request=s.QualitySuiteUpdateSerializer, responses=s.QualitySuiteSerializer)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    @extend_schema(request=None, responses={201: s.QualityRunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        run = services.quality_suite_run(actor=request.user, suite=self.get_object())
        return Response(s.QualityRunSerializer(run).data, status=status.HTTP_201_CREATED)


class QualityRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.QualityRunSerializer
    selector = staticmethod(selectors.quality_run_list)
    filterset_class = filters.QualityRunFilterSet
    ordering_fields = ["created_at", "finished_at"]


class QualityResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.QualityCheckResultSerializer
    selector = staticmethod(selectors.quality_result_list)
    filterset_class = filters.QualityResultFilterSet


class QualityAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.QualityAlertSerializer
    selector = staticmethod(selectors.quality_alert_list)
    filterset_class = filters.QualityAlertFilterSet
    ordering_fields = ["opened_at", "state"]
    permission_action = None  # set per @action

    @extend_schema(request=s.AlertReasonSerializer, responses=s.QualityAlertSerializer)
    @action(detail=True, methods=["post"], permission_action=CHANGE)
    def acknowledge(self, request, pk=None):
        form = s.AlertReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = services.quality_alert_acknowledge(
            actor=request.user, alert=self.get_object(), reason=form.validated_data["reason"]
        )
        return Response(s.QualityAlertSerializer(alert).data)

    @extend_schema(request=s.AlertReasonSerializer, responses=s.QualityAlertSerializer)
    @action(detail=True, methods=["post"], permission_action=CHANGE)
    def resolve(self, request, pk=None):
        form = s.AlertReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = services.quality_alert_resolve(actor=request.user, alert=self.get_object(), reason=form.validated_data["reason"])
        return Response(s.QualityAlertSerializer(alert).data)


def _visible(model, user, pk) -> bool:
    return model.objects.restrict(user, VIEW).filter(pk=pk).exists()
