"""compliance.policies API: declarative viewsets over selectors (reads) and services (writes)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.permissions import DECIDE, VIEW, require
from catalog.models import DataAsset
from compliance.access import decisions, grants, sample, tokens
from compliance.anonymization import services as anonymization
from compliance.policies import selectors
from compliance.policies.actions import packs, policies
from compliance.policies.api import serializers as s
from compliance.policies.models import AnonymizationRun, RegulationPack, RegulationRule, RetentionRun
from compliance.retention import holds
from compliance.retention.services import retention_enforce
from core.api.views import CustosAPIView
from core.api.viewsets import RestrictedGenericViewSet, ServiceModelViewSet

User = get_user_model()


class RegulationPackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    """Regulation packs with their categories and rules. Stewards install their own packs."""

    serializer_class = s.RegulationPackSerializer
    permission_actions = {"POST": DECIDE}
    queryset = RegulationPack.objects.prefetch_related("categories", "rules__pack")

    @extend_schema(request=s.PackInstallSerializer, responses=s.RegulationPackSerializer)
    def create(self, request):
        form = s.PackInstallSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        pack = packs.pack_install(document=form.validated_data["document"], actor=request.user)
        return Response(s.RegulationPackSerializer(pack).data, status=201)


class RegulationRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.RegulationRuleSerializer
    permission_actions = {"POST": DECIDE}
    queryset = RegulationRule.objects.select_related("pack")
    filterset_fields = ["pack__code", "severity", "enabled", "overridden"]

    @extend_schema(request=s.RuleOverrideSerializer, responses=s.RegulationRuleSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        form = s.RuleOverrideSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        rule = packs.rule_override(rule=self.get_object(), actor=request.user, **form.validated_data)
        return Response(s.RegulationRuleSerializer(rule).data)


class PolicyViewSet(ServiceModelViewSet, viewsets.ModelViewSet):
    """Retention, anonymization and access policies; written by stewards and admins."""

    serializer_class = s.PolicySerializer
    permission_actions = {"POST": DECIDE, "PUT": DECIDE, "PATCH": DECIDE, "DELETE": DECIDE}
    selector = staticmethod(selectors.policy_list)
    create_service = staticmethod(policies.policy_create)
    update_service = staticmethod(policies.policy_update)
    delete_service = staticmethod(policies.policy_delete)
    instance_kwarg = "policy"
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["name", "priority", "created_at"]


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.FindingSerializer
    filterset_fields = ["regulation", "severity", "status", "asset", "model_version"]
    ordering_fields = ["last_seen", "severity"]

    def get_queryset(self):
        return selectors.finding_list(user=self.request.user)


class PostureView(CustosAPIView):
    """Compliance posture per regulation: assets in scope and compliant, open findings by severity."""

    @extend_schema(
        parameters=[OpenApiParameter("regulation", OpenApiTypes.STR, required=False)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return Response(selectors.posture(regulation=request.query_params.get("regulation"), user=request.user))


class LegalHoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RestrictedGenericViewSet):
    serializer_class = s.LegalHoldSerializer
    permission_actions = {"POST": DECIDE}

    def get_queryset(self):
        return selectors.LegalHold.objects.restrict(self.request.user, VIEW).select_related("asset", "created_by", "released_by")

    def perform_create(self, serializer):
        serializer.instance = holds.legal_hold_place(actor=self.request.user, **serializer.validated_data)

    @extend_schema(request=s.ReasonSerializer, responses=s.LegalHoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        form = s.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        hold = holds.legal_hold_release(hold=self.get_object(), actor=request.user, reason=form.validated_data["reason"])
        return Response(s.LegalHoldSerializer(hold).data)


class AccessGrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RestrictedGenericViewSet):
    """Time-bound access grants: anyone requests for themselves; stewards approve, reject, revoke."""

    serializer_class = s.AccessGrantSerializer
    permission_actions = {"POST": VIEW}
    filterset_fields = ["state", "purpose", "asset", "user"]

    def get_queryset(self):
        return selectors.grant_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        user = data.pop("user", None) or self.request.user
        serializer.instance = grants.grant_request(actor=self.request.user, user=user, **data)

    def _decide(self, request, service):
        require(request.user, DECIDE, "access grants (deciding one is a steward decision)")  # before the body
        form = s.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        grant = service(grant=self.get_object(), actor=request.user, reason=form.validated_data["reason"])
        return Response(s.AccessGrantSerializer(grant).data)

    @extend_schema(request=s.ReasonSerializer, responses=s.AccessGrantSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, grants.grant_approve)

    @extend_schema(request=s.ReasonSerializer, responses=s.AccessGrantSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, grants.grant_reject)

    @extend_schema(request=s.ReasonSerializer, responses=s.AccessGrantSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decide(request, grants.grant_revoke)


def _visible_asset(request, pk) -> DataAsset:
    """The asset through ``restrict(user, "view")``: 404 when the user may not see it."""
    return get_object_or_404(DataAsset.objects.restrict(request.user, VIEW), pk=pk)


class AccessDecideView(CustosAPIView):
    """``POST /api/v1/access/decide`` {user, asset, purpose} -> the decision and its reasons.

    Anyone may ask about themselves; stewards, admins, auditors and services (enforcement points)
    may ask about another user. Every decision, allow or deny, is an audit event.
    """

    permission_action = VIEW

    @extend_schema(request=s.DecideRequestSerializer, responses=s.DecisionSerializer)
    def post(self, request):
        form = s.DecideRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        subject = request.user
        if data.get("user") and data["user"] not in (request.user.get_username(), str(request.user.pk)):
            decisions.require_may_ask_for_others(request.user)  # before the lookup: no probing for usernames
            lookup = {"pk": int(data["user"])} if data["user"].isdigit() else {"username": data["user"]}
            subject = User.objects.filter(**lookup).first()
            if subject is None:
                raise ValidationError({"user": "unknown user"})
        asset = _visible_asset(request, data["asset"])
        decision = decisions.access_decide(user=subject, asset=asset, purpose=data["purpose"], actor=request.user)
        return Response({"user": subject.get_username(), "asset": asset.pk, **decision.as_dict()})


class AssetSampleView(CustosAPIView):
    """``GET /api/v1/assets/{id}/sample?purpose=...&limit=20``: rows as the access decision allows.

    ``allow``: rows as stored; ``allow_masked``: classified columns replaced by keyed tokens;
    ``deny``: 403 with the reasons. The decision and the read are both audit events.
    """

    permission_action = VIEW

    @extend_schema(
        parameters=[
            OpenApiParameter("purpose", OpenApiTypes.STR, required=True),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, pk: int):
        asset = _visible_asset(request, pk)
        try:
            limit = int(request.query_params.get("limit", 20))
        except ValueError:
            raise ValidationError({"limit": "must be an integer"})
        decision, frame = sample.asset_sample_read(
            actor=request.user, asset=asset, purpose=request.query_params.get("purpose", ""), limit=limit
        )
        if frame is None:
            return Response(
                {
                    "error": {
                        "status": 403,
                        "code": "access_denied",
                        "message": "; ".join(decision.reasons),
                        "decision": decision.as_dict(),
                    }
                },
                status=403,
            )
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return Response(
            {"asset": asset.pk, "decision": decision.as_dict(), "columns": list(map(str, frame.columns)), "rows": _jsonable(rows)}
        )


def _jsonable(rows):
    out = []
    for row in rows:
        out.append(
            {
                str(k): (
                    v.isoformat()
                    if hasattr(v, "isoformat")
                    else v
                    if isinstance(v, str | int | float | bool) or v is None
                    else str(v)
                )
                for k, v in row.items()
            }
        )
    return out


class AnonymizationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.AnonymizationRunSerializer
    permission_actions = {"POST": DECIDE}

    def get_queryset(self):
        # The base viewset scopes it like the assets (AnonymizationRunQuerySet): a viewer who gets
        # 404 on a restricted asset never lists its runs, output paths or reports.
        return AnonymizationRun.objects.select_related("source_asset", "target_asset", "policy")

    @extend_schema(request=s.AnonymizationStartSerializer, responses=s.AnonymizationRunSerializer)
    def create(self, request):
        form = s.AnonymizationStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        asset = _visible_asset(request, data["asset"])
        output = data.get("output_path") or anonymization.default_output(asset, data["policy"])
        if not Path(output).resolve().is_relative_to(Path(settings.VAR_DIR).resolve()):
            raise ValidationError({"output_path": "outputs are written under the var directory"})
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        run = anonymization.anonymization_start(actor=request.user, policy=data["policy"], source_asset=asset, output_path=output)
        run.refresh_from_db()  # eager Celery (development, tests) has already finished it
        return Response(s.AnonymizationRunSerializer(run).data, status=201 if run.status == "succeeded" else 202)


class RetentionRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    serializer_class = s.RetentionRunSerializer
    permission_actions = {"POST": DECIDE}

    def get_queryset(self):
        return RetentionRun.objects.all()  # scoped by the base viewset; report items by the serializer

    @extend_schema(request=s.RetentionStartSerializer, responses=s.RetentionRunSerializer)
    def create(self, request):
        form = s.RetentionStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = retention_enforce(actor=request.user, dry_run=form.validated_data["dry_run"])
        return Response(s.RetentionRunSerializer(run, context={"request": request}).data, status=201)


class TokenRevealView(CustosAPIView):
    """``POST /api/v1/tokens/reveal`` {token, purpose, reason}: decrypt an siv:/gcm: token (stewards,
    admins), audited either way."""

    permission_action = VIEW  # every role reaches the view so that a refused attempt is audited

    @extend_schema(request=s.TokenRevealSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        # The role (decide) is checked before the body: a viewer learns nothing from validation
        # errors, and the refusal is an audit event (policies.token.reveal_denied).
        raw = request.data if isinstance(request.data, dict) else {}
        tokens.token_reveal_authorize(
            actor=request.user,
            purpose=raw.get("purpose") if isinstance(raw.get("purpose"), str) else "",
            reason=raw.get("reason") if isinstance(raw.get("reason"), str) else "",
            token=raw.get("token") if isinstance(raw.get("token"), str) else "",
            role_only=True,
        )
        form = s.TokenRevealSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        asset = _visible_asset(request, data["asset"]) if data.get("asset") else None
        value = tokens.token_reveal(
            token=data["token"], purpose=data["purpose"], reason=data["reason"], actor=request.user, asset=asset
        )
        return Response({"value": value})
