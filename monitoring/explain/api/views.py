"""Explanations and fairness API (mounted under /api/v1/explain/).

* ``GET  /explain/artifacts`` · ``POST /explain/artifacts`` (multipart: ``model_version``, ``file``)
* ``POST /explain/artifacts/{id}/explain`` ``{"rows": [{feature: value}], "method"?, "background"?, "seed"?}``
  or ``{"prediction_id": "...", "method"?, "seed"?}`` (a decision logged through monitoring; 404 when
  unknown or not visible) answers 201 with the stored explanation (numbers and a sentence in ``summary``)
* ``POST /explain/artifacts/{id}/global`` ``{"location", "label", "scoring"?, "n_repeats"?, "seed"?, "sample_size"?, "features"?}``
  permutation importance, PDP and ICE on a dataset location
* ``GET  /explain/explanations[/{id}]``
* ``GET  /explain/fairness[/{id}]`` · ``POST /explain/fairness`` (a dataset location + columns)
* ``GET  /explain/model-versions/{id}/card`` the model card as JSON; ``?format=html`` (or
  ``Accept: text/html``) as an HTML page (monitoring/explain/card.py)
* ``POST /explain/model-versions/{id}/fairness`` ``{"group": [...], "label"?, "batch_ids"?, "limits"?, ...}``
  the fairness of the version's logged production decisions (findings and monitoring alerts)

Reads need ``view``; computing or uploading needs ``add`` (the role matrix of docs/api.md). Every
write goes through monitoring.explain.services.
"""

from __future__ import annotations

import pandas as pd
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.response import Response

from core.api.viewsets import RestrictedGenericViewSet
from monitoring.explain import decisions, selectors, services
from monitoring.explain.api import serializers as s
from monitoring.explain.decisions import version_visible


class ModelArtifactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.ModelArtifactSerializer
    selector = staticmethod(selectors.artifact_list)
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.ArtifactUploadSerializer}, responses={201: s.ModelArtifactSerializer})
    def create(self, request):
        form = s.ArtifactUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > services.MAX_UPLOAD_BYTES:
            raise ValidationError(f"the artifact is larger than {services.MAX_UPLOAD_BYTES} bytes")
        artifact = services.artifact_upload(
            actor=request.user, model_version=form.validated_data["model_version"], data=upload.read()
        )
        return Response(s.ModelArtifactSerializer(artifact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExplainRequestSerializer, responses={201: s.ExplanationSerializer})
    @action(detail=True, methods=["post"])
    def explain(self, request, pk=None):
        artifact = self.get_object()
        form = s.ExplainRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "prediction_id" in data:
            explanation = decisions.explain_prediction(
                actor=request.user,
                artifact=artifact,
                prediction_id=data["prediction_id"],
                method=data.get("method"),
                seed=data["seed"],
                n_permutations=data["permutations"],
            )
            return Response(s.ExplanationSerializer(explanation).data, status=status.HTTP_201_CREATED)
        background = pd.DataFrame(data["background"]) if data.get("background") else None
        explanation = services.explanation_create(
            actor=request.user,
            artifact=artifact,
            rows=pd.DataFrame(data["rows"]),
            method=data.get("method"),
            background=background,
            seed=data["seed"],
            n_permutations=data["permutations"],
        )
        return Response(s.ExplanationSerializer(explanation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.GlobalExplainRequestSerializer, responses={201: s.ExplanationSerializer})
    @action(detail=True, methods=["post"], url_path="global")
    def global_explanation(self, request, pk=None):
        artifact = self.get_object()
        form = s.GlobalExplainRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        explanation = services.explanation_global_create(actor=request.user, artifact=artifact, **form.validated_data)
        return Response(s.ExplanationSerializer(explanation).data, status=status.HTTP_201_CREATED)


class ExplanationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.ExplanationSerializer
    selector = staticmethod(selectors.explanation_list)


class FairnessAssessmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.FairnessAssessmentSerializer
    selector = staticmethod(selectors.fairness_list)

    @extend_schema(request=s.FairnessRequestSerializer, responses={201: s.FairnessAssessmentSerializer})
    def create(self, request):
        form = s.FairnessRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        version = d.get("model_version")
        if version is not None and not version_visible(request.user, version):
            raise ValidationError({"model_version": "no such model version"})  # invisible answers as unknown
        assessment = services.fairness_assess(
            actor=request.user,
            location=d.get("location"),
            asset=_visible_asset(request.user, d.get("asset")),
            prediction=d["prediction"],
            group=d.get("group"),
            label=d.get("label"),
            positive=d.get("positive"),
            reference=d.get("reference"),
            model_version=d.get("model_version"),
            n_boot=d["bootstrap"],
            seed=d["seed"],
            min_group_size=d["min_group_size"],
            limits=d.get("limits") or None,
        )
        return Response(s.FairnessAssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


def _visible_asset(user, asset):
    """The asset if the user may see it; an invisible one answers as unknown (no existence leak)."""
    from django.http import Http404

    from accounts.permissions import VIEW
    from catalog.models import DataAsset

    if asset is None:
        return None
    if not DataAsset.objects.restrict(user, VIEW).filter(pk=asset.pk).exists():
        raise Http404("no such asset")
    return asset


class ModelCardViewSet(RestrictedGenericViewSet):
    """The model card of a model version the user may see (``view``; hidden versions are 404)."""

    selector = staticmethod(selectors.model_version_list)
    serializer_class = s.ModelCardSerializer

    def finalize_response(self, request, response, *args, **kwargs):
        # an error (404, 401, ...) is the API's JSON envelope also when HTML was asked for: the
        # schema documents it so, and StaticHTMLRenderer would render Django's HTML error page
        if getattr(response, "exception", False) and getattr(getattr(request, "accepted_renderer", None), "format", "") == "html":
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        request=s.ProductionFairnessRequestSerializer,
        responses={201: s.FairnessAssessmentSerializer},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="the model version's id")],
    )
    @action(detail=True, methods=["post"], url_path="fairness", renderer_classes=[JSONRenderer])
    def fairness(self, request, pk=None):
        """Assess the version's logged decisions; failed checks become findings and alerts."""
        version = self.get_object()
        form = s.ProductionFairnessRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        assessment = services.fairness_check_production(
            actor=request.user,
            model_version=version,
            group=d["group"],
            prediction=d.get("prediction"),
            label=d.get("label"),
            positive=d.get("positive"),
            limits=d.get("limits") or None,
            batch_ids=d.get("batch_ids"),
            n_boot=d["bootstrap"],
            seed=d["seed"],
            min_group_size=d["min_group_size"],
        )
        return Response(s.FairnessAssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: s.ModelCardSerializer},
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="the model version's id"),
            OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=["json", "html"], required=False),
        ],
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, StaticHTMLRenderer])
    def card(self, request, pk=None):
        from monitoring.explain import card as cards

        doc = cards.model_card(user=request.user, model_version=self.get_object())
        if request.accepted_renderer.format == "html":
            return Response(cards.to_html(doc), content_type="text/html; charset=utf-8")
        return Response(doc)
