"""API shapes of compliance.policies. Users are written by username, assets by id."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from catalog.models import DataAsset, Domain
from compliance.policies.choices import Effect, Purpose, Severity
from compliance.policies.models import (
    AccessGrant,
    AnonymizationRun,
    Finding,
    LegalHold,
    Policy,
    RegulationCategory,
    RegulationPack,
    RegulationRule,
    RetentionRun,
)

User = get_user_model()


class _VisibleAssets(serializers.PrimaryKeyRelatedField):
    """An asset id the user cannot see is answered like one that does not exist."""

    def get_queryset(self):
        request = self.context.get("request")
        return DataAsset.objects.restrict(request.user if request else None, "view")


def _user_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(), **kwargs)


class RegulationCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = RegulationCategory
        fields = ["code", "name", "citation", "entity_types", "sensitive"]


class RegulationRuleSerializer(serializers.ModelSerializer):
    pack = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RegulationRule
        fields = [
            "id",
            "pack",
            "code",
            "title",
            "citation",
            "severity",
            "check_name",
            "params",
            "fix",
            "enabled",
            "overridden",
            "override_reason",
            "original",
        ]
        read_only_fields = fields


class RegulationPackSerializer(serializers.ModelSerializer):
    categories = RegulationCategorySerializer(many=True, read_only=True)
    rules = RegulationRuleSerializer(many=True, read_only=True)

    class Meta:
        model = RegulationPack
        fields = [
            "id",
            "code",
            "name",
            "version",
            "jurisdiction",
            "citation",
            "description",
            "builtin",
            "enabled",
            "categories",
            "rules",
        ]
        read_only_fields = fields


class PackInstallSerializer(serializers.Serializer):
    document = serializers.JSONField()


class RuleOverrideSerializer(serializers.Serializer):
    reason = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    params = serializers.JSONField(required=False)


class PolicySerializer(serializers.ModelSerializer):
    owner = _user_field(required=False, allow_null=True)
    assets = _VisibleAssets(many=True, required=False)
    domains = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Domain.objects.all(), required=False)

    class Meta:
        model = Policy
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "owner",
            "enabled",
            "priority",
            "assets",
            "domains",
            "entity_types",
            "config",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class FindingSerializer(serializers.ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "rule",
            "regulation",
            "asset",
            "model_version",
            "severity",
            "citation",
            "message",
            "evidence",
            "fix",
            "status",
            "first_seen",
            "last_seen",
            "resolved_at",
        ]
        read_only_fields = fields


class LegalHoldSerializer(serializers.ModelSerializer):
    asset = _VisibleAssets()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    released_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LegalHold
        fields = ["id", "asset", "reference", "reason", "created_by", "created_at", "released_at", "released_by"]
        read_only_fields = ["created_by", "created_at", "released_at", "released_by"]


class AccessGrantSerializer(serializers.ModelSerializer):
    user = _user_field(required=False)
    asset = _VisibleAssets()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    days = serializers.IntegerField(write_only=True, required=False, min_value=1, max_value=366)
    effect = serializers.ChoiceField(choices=[Effect.ALLOW, Effect.ALLOW_MASKED], default=Effect.ALLOW)

    class Meta:
        model = AccessGrant
        fields = [
            "id",
            "user",
            "asset",
            "purpose",
            "justification",
            "effect",
            "state",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "valid_from",
            "valid_until",
            "days",
        ]
        read_only_fields = ["state", "requested_by", "requested_at", "decided_by", "decided_at"]
        extra_kwargs = {"valid_from": {"required": False}, "valid_until": {"required": False}}


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DecideRequestSerializer(serializers.Serializer):
    user = serializers.CharField(required=False, help_text="Username (or id) of the user who reads; default: you.")
    asset = serializers.IntegerField()
    purpose = serializers.CharField()


class DecisionSerializer(serializers.Serializer):
    user = serializers.CharField()
    asset = serializers.IntegerField()
    effect = serializers.ChoiceField(choices=Effect.choices)
    reasons = serializers.ListField(child=serializers.CharField())
    role = serializers.CharField(allow_null=True)
    purpose = serializers.CharField()
    sensitivity = serializers.CharField()
    entity_types = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())
    masked_columns = serializers.ListField(child=serializers.CharField())
    policy_ids = serializers.ListField(child=serializers.IntegerField())
    grant_id = serializers.IntegerField(allow_null=True)


class AnonymizationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnonymizationRun
        fields = [
            "id",
            "source_asset",
            "target_asset",
            "policy",
            "profile",
            "output_path",
            "status",
            "rows",
            "report",
            "error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class AnonymizationStartSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    policy = serializers.CharField(help_text="hipaa-safe-harbor, gdpr-pseudonymize or an anonymization policy's name")
    output_path = serializers.CharField(required=False, help_text="Default: var/anonymized/<asset id>/<name>__<policy>.<ext>")


class RetentionRunSerializer(serializers.ModelSerializer):
    report = serializers.SerializerMethodField()

    def get_report(self, run: RetentionRun) -> dict:
        request = self.context.get("request")
        if request is None:
            return run.report
        from compliance.policies.selectors import retention_report_for

        return retention_report_for(run, request.user)

    class Meta:
        model = RetentionRun
        fields = ["id", "dry_run", "status", "report", "error", "started_at", "finished_at"]
        read_only_fields = fields


class RetentionStartSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=True)


class TokenRevealSerializer(serializers.Serializer):
    token = serializers.CharField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    reason = serializers.CharField()
    asset = serializers.IntegerField(required=False)
