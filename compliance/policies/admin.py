"""Admin for stewards: packs, rules (override), policies, legal holds, grants, findings and runs.

Every write goes through the same services as the API (``compliance.policies.actions``,
``compliance.access``, ``compliance.retention``), which check the actor's role themselves; bulk
actions are ``core.admin.service_action``s declaring ``permissions=[decide]``. Findings and runs are read-only here (they are produced by evaluation and runs).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.permissions import DECIDE
from compliance.access import grants
from compliance.policies.actions import packs, policies
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
from compliance.retention import holds
from core.admin import CustosModelAdmin, ReadOnlyAdmin, service_action


def _report(modeladmin, request, fn) -> None:
    try:
        fn()
    except (ValidationError, PermissionDenied) as exc:
        modeladmin.message_user(request, "; ".join(getattr(exc, "messages", [str(exc)])), level=messages.ERROR)


def _pack_state(pack: RegulationPack) -> str:
    return f"version {pack.version}, " + ("enabled" if pack.enabled else "disabled")


def _grant_state(grant: AccessGrant) -> str:
    return f"{grant.user} on {grant.asset} for {grant.purpose}: {grant.state}"


class CategoryInline(admin.TabularInline):
    model = RegulationCategory
    extra = 0
    fields = ("code", "name", "citation", "entity_types", "sensitive")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RegulationPack)
class RegulationPackAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "version", "jurisdiction", "builtin", "enabled")
    inlines = [CategoryInline]
    actions = ["enable", "disable"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # list page actions only

    @service_action(description="Enable the selected packs", permissions=[DECIDE], summary=_pack_state)
    def enable(self, request, pack, *, reason):
        packs.pack_set_enabled(pack=pack, enabled=True, actor=request.user, reason=reason)

    @service_action(
        description="Disable the selected packs",
        permissions=[DECIDE],
        warning="Rules of a disabled pack are no longer evaluated; its open findings are re-evaluated.",
        summary=_pack_state,
    )
    def disable(self, request, pack, *, reason):
        packs.pack_set_enabled(pack=pack, enabled=False, actor=request.user, reason=reason)


@admin.register(RegulationRule)
class RegulationRuleAdmin(CustosModelAdmin):
    """Stewards override severity, parameters or enabled; the pack's values stay in ``original``."""

    list_display = ("code", "pack", "severity", "citation", "enabled", "overridden")
    list_filter = ("pack", "severity", "enabled", "overridden")
    search_fields = ("code", "title", "citation")
    fields = (
        "code",
        "pack",
        "title",
        "citation",
        "check_name",
        "fix",
        "severity",
        "enabled",
        "params",
        "override_reason",
        "original",
    )
    readonly_fields = ("code", "pack", "title", "citation", "check_name", "fix", "original")

    @admin.display(description="check")
    def check_name(self, obj):  # a field called "check" would shadow ModelAdmin.check
        return obj.check

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fresh = RegulationRule.objects.get(pk=obj.pk)
        data = {k: form.cleaned_data[k] for k in ("severity", "enabled", "params") if k in form.changed_data}
        packs.rule_override(
            rule=fresh, actor=request.user, reason=form.cleaned_data.get("override_reason") or "admin edit", **data
        )
        obj.refresh_from_db()


@admin.register(Policy)
class PolicyAdmin(CustosModelAdmin):
    list_display = ("name", "kind", "owner", "enabled", "priority", "updated_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "description")
    filter_horizontal = ("assets", "domains")

    def save_model(self, request, obj, form, change):
        plain = {k: form.cleaned_data[k] for k in form.cleaned_data if k not in ("assets", "domains")}
        if change:
            fresh = Policy.objects.get(pk=obj.pk)
            changed = {k: v for k, v in plain.items() if k in form.changed_data}
            policies.policy_update(policy=fresh, actor=request.user, **changed)
        else:
            created = policies.policy_create(actor=request.user, **plain)
            obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        m2m = {k: form.cleaned_data[k] for k in ("assets", "domains") if k in form.changed_data}
        if m2m:
            policies.policy_update(policy=Policy.objects.get(pk=form.instance.pk), actor=request.user, **m2m)

    def delete_model(self, request, obj):
        try:
            policies.policy_delete(policy=obj, actor=request.user, reason=self.delete_reason(request))
        except (ValidationError, PermissionDenied) as exc:
            self.delete_refused(request, "; ".join(getattr(exc, "messages", [str(exc)])))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(LegalHold)
class LegalHoldAdmin(CustosModelAdmin):
    list_display = ("reference", "asset", "created_by", "created_at", "released_at")
    list_filter = ("released_at",)
    fields = ("asset", "reference", "reason")
    actions = ["release"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        hold = holds.legal_hold_place(actor=request.user, **form.cleaned_data)
        obj.pk = hold.pk
        obj.refresh_from_db()

    @service_action(
        description="Release the selected holds",
        permissions=[DECIDE],
        warning="Once released, retention may delete the held rows at its next run.",
        summary=lambda hold: f"on {hold.asset}, " + ("released" if hold.released_at else "active"),
    )
    def release(self, request, hold, *, reason):
        holds.legal_hold_release(hold=hold, actor=request.user, reason=reason)


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = ("pk", "user", "asset", "purpose", "effect", "state", "valid_from", "valid_until", "decided_by")
    list_filter = ("state", "purpose")
    actions = ["approve", "reject", "revoke"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    @service_action(description="Approve the selected grants", permissions=[DECIDE], summary=_grant_state)
    def approve(self, request, grant, *, reason):
        grants.grant_approve(grant=grant, actor=request.user, reason=reason)

    @service_action(description="Reject the selected grants", permissions=[DECIDE], summary=_grant_state)
    def reject(self, request, grant, *, reason):
        grants.grant_reject(grant=grant, actor=request.user, reason=reason)

    @service_action(
        description="Revoke the selected grants",
        permissions=[DECIDE],
        warning="Access ends at once; a revoked grant cannot be approved again (the user asks anew).",
        summary=_grant_state,
    )
    def revoke(self, request, grant, *, reason):
        grants.grant_revoke(grant=grant, actor=request.user, reason=reason)


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("rule", "severity", "regulation", "asset", "model_version", "status", "last_seen")
    list_filter = ("regulation", "severity", "status")
    search_fields = ("rule__code", "message", "citation")


@admin.register(AnonymizationRun)
class AnonymizationRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "profile", "source_asset", "target_asset", "status", "rows", "started_at")
    list_filter = ("status", "profile")


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "dry_run", "status", "started_at", "finished_at")
    list_filter = ("dry_run", "status")
