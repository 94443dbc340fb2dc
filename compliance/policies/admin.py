"""Admin for stewards: packs, rules (override), policies, legal holds, grants, findings and runs.

Every write goes through ``compliance.policies.services`` so the admin leaves the same audit trail
as the API. Findings and runs are read-only here (they are produced by evaluation and runs).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from compliance.policies import services
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


def _report(modeladmin, request, fn) -> None:
    try:
        fn()
    except (ValidationError, PermissionDenied) as exc:
        modeladmin.message_user(request, "; ".join(getattr(exc, "messages", [str(exc)])), level=messages.ERROR)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    @admin.action(description="Enable the selected packs")
    def enable(self, request, queryset):
        for pack in queryset:
            _report(self, request, lambda p=pack: services.pack_set_enabled(pack=p, enabled=True, actor=request.user))

    @admin.action(description="Disable the selected packs")
    def disable(self, request, queryset):
        for pack in queryset:
            _report(self, request, lambda p=pack: services.pack_set_enabled(pack=p, enabled=False, actor=request.user))


@admin.register(RegulationRule)
class RegulationRuleAdmin(admin.ModelAdmin):
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
        services.rule_override(
            rule=fresh, actor=request.user, reason=form.cleaned_data.get("override_reason") or "admin edit", **data
        )
        obj.refresh_from_db()


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "enabled", "priority", "updated_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "description")
    filter_horizontal = ("assets", "domains")

    def save_model(self, request, obj, form, change):
        plain = {k: form.cleaned_data[k] for k in form.cleaned_data if k not in ("assets", "domains")}
        if change:
            fresh = Policy.objects.get(pk=obj.pk)
            changed = {k: v for k, v in plain.items() if k in form.changed_data}
            services.policy_update(policy=fresh, actor=request.user, **changed)
        else:
            created = services.policy_create(actor=request.user, **plain)
            obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        m2m = {k: form.cleaned_data[k] for k in ("assets", "domains") if k in form.changed_data}
        if m2m:
            services.policy_update(policy=Policy.objects.get(pk=form.instance.pk), actor=request.user, **m2m)

    def delete_model(self, request, obj):
        _report(self, request, lambda: services.policy_delete(policy=obj, actor=request.user))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    list_display = ("reference", "asset", "created_by", "created_at", "released_at")
    list_filter = ("released_at",)
    fields = ("asset", "reference", "reason")
    actions = ["release"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        hold = services.legal_hold_place(actor=request.user, **form.cleaned_data)
        obj.pk = hold.pk
        obj.refresh_from_db()

    @admin.action(description="Release the selected holds")
    def release(self, request, queryset):
        for hold in queryset.filter(released_at__isnull=True):
            _report(
                self, request, lambda h=hold: services.legal_hold_release(hold=h, actor=request.user, reason="released in admin")
            )


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = ("pk", "user", "asset", "purpose", "effect", "state", "valid_from", "valid_until", "decided_by")
    list_filter = ("state", "purpose")
    actions = ["approve", "reject", "revoke"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def _decide(self, request, queryset, service):
        for grant in queryset:
            _report(self, request, lambda g=grant: service(grant=g, actor=request.user, reason="decided in admin"))

    @admin.action(description="Approve the selected grants")
    def approve(self, request, queryset):
        self._decide(request, queryset, services.grant_approve)

    @admin.action(description="Reject the selected grants")
    def reject(self, request, queryset):
        self._decide(request, queryset, services.grant_reject)

    @admin.action(description="Revoke the selected grants")
    def revoke(self, request, queryset):
        self._decide(request, queryset, services.grant_revoke)


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
