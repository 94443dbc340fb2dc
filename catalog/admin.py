"""Admin for stewards. Every save, delete and bulk action goes through catalog.services, so the
admin leaves the same audit trail as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render

from accounts.permissions import CHANGE, role_of, user_can
from catalog import selectors, services
from catalog.choices import ClassificationState
from catalog.forms import AssignOwnerForm, SetSensitivityForm
from catalog.models import (
    Classification,
    Column,
    DataAsset,
    DataSource,
    Domain,
    GlossaryTerm,
    MLModel,
    ModelVersion,
    Tag,
)
from core.admin import RoleActionPermissionsMixin, service_action


class RoleActionsMixin(RoleActionPermissionsMixin):
    """Admin actions declare ``permissions=["decide"]`` or ``["catalog_change"]``: answered from the
    role matrix (``has_<action>_permission``). An action a user may not run is hidden; if posted
    anyway, the user is told why instead of Django's silence. The services behind every action
    check the actor again, so an action cannot do what its service refuses."""

    def has_catalog_change_permission(self, request) -> bool:
        return user_can(request.user, CHANGE)

    def changelist_view(self, request, extra_context=None):
        # Django drops a posted action the user may not run without a word (or runs nothing when
        # the user has no action at all); say who may not run what, and why, and change nothing.
        name = request.POST.get("action", "") if request.method == "POST" else ""
        base = {a[1]: a for a in self._get_base_actions()}
        if name in base and name not in self.get_actions(request):
            needed = ", ".join(getattr(base[name][0], "allowed_permissions", ()) or ("?",))
            self.message_user(
                request,
                f"{role_of(request.user) or 'anonymous'} may not run “{base[name][2]}”: it needs the {needed} permission",
                level=messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)

    def run_service(self, request, service, /, **kwargs) -> bool:
        """Call ``service(actor=request.user, **kwargs)``; a refusal becomes an error message saying why."""
        try:
            service(actor=request.user, **kwargs)
        except PermissionDenied as exc:
            self.message_user(request, f"Refused: {exc}", level=messages.ERROR)
            return False
        except ValidationError as exc:
            self.message_user(request, f"Refused: {'; '.join(exc.messages)}", level=messages.ERROR)
            return False
        return True


class ServiceAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Routes admin writes through services: ``create_service``/``update_service``/``delete_service``.

    Admin forms have already validated the instance, so the service receives the changed fields.
    """

    create_service = None
    update_service = None
    delete_service = None
    instance_kwarg = "instance"

    def _fields(self, form) -> dict:
        return {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}

    def save_model(self, request, obj, form, change):
        data = self._fields(form)
        if change:
            plain = {k: v for k, v in data.items() if not obj._meta.get_field(k).many_to_many}
            # The form already set the new values on obj; reload so the service sees the change.
            fresh = type(obj).objects.get(pk=obj.pk)
            type(self).update_service(**{self.instance_kwarg: fresh}, actor=request.user, **plain)
            obj.refresh_from_db()
        else:
            all_fields = {
                name: form.cleaned_data[name] for name in form.cleaned_data if name in {f.name for f in obj._meta.get_fields()}
            }
            plain = {k: v for k, v in all_fields.items() if not obj._meta.get_field(k).many_to_many and v not in (None, "")}
            created = type(self).create_service(actor=request.user, **plain)
            obj.pk = created.pk
            obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        m2m = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in form.cleaned_data and form.instance._meta.get_field(name).many_to_many
        }
        if m2m:
            type(self).update_service(**{self.instance_kwarg: form.instance}, actor=request.user, **m2m)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        try:
            type(self).delete_service(**{self.instance_kwarg: obj}, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Domain)
class DomainAdmin(ServiceAdmin):
    list_display = ("name", "owner", "updated_at")
    search_fields = ("name", "description")
    create_service, update_service, delete_service = services.domain_create, services.domain_update, services.domain_delete
    instance_kwarg = "domain"


@admin.register(Tag)
class TagAdmin(ServiceAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")
    create_service, update_service, delete_service = services.tag_create, services.tag_update, services.tag_delete
    instance_kwarg = "tag"


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(ServiceAdmin):
    list_display = ("name", "domain", "updated_at")
    list_filter = ("domain",)
    search_fields = ("name", "description")
    create_service, update_service, delete_service = (
        services.glossary_term_create,
        services.glossary_term_update,
        services.glossary_term_delete,
    )
    instance_kwarg = "term"


@admin.register(DataSource)
class DataSourceAdmin(ServiceAdmin):
    list_display = ("name", "kind", "namespace", "country", "owner")
    list_filter = ("kind", "country")
    search_fields = ("name", "namespace", "description")
    create_service, update_service, delete_service = services.source_create, services.source_update, services.source_delete
    instance_kwarg = "source"


class ColumnInline(admin.TabularInline):
    """Columns of an asset. Edits here go through column services (see DataAssetAdmin.save_formset)."""

    model = Column
    extra = 0
    fields = ("position", "name", "data_type", "nullable", "description", "pii")
    readonly_fields = ("pii",)
    show_change_link = True

    @admin.display(description="PII (state)")
    def pii(self, obj):
        live = [f"{c.entity_type} ({c.state})" for c in obj.classifications.all() if c.state != ClassificationState.REJECTED]
        return ", ".join(live) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("classifications")


class HasPiiFilter(admin.SimpleListFilter):
    title = "has PII"
    parameter_name = "has_pii"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(selectors.pii_exists_for_asset())
        if self.value() == "no":
            return queryset.exclude(selectors.pii_exists_for_asset())
        return queryset


@admin.register(DataAsset)
class DataAssetAdmin(ServiceAdmin):
    list_display = ("qualified_name", "source", "kind", "status", "sensitivity", "domain")
    list_filter = ("status", "kind", "sensitivity", HasPiiFilter, "source", "domain", "tags", "legal_basis")
    search_fields = ("name", "qualified_name", "description", "columns__name")
    autocomplete_fields = ("owners", "stewards", "tags", "glossary_terms")
    list_select_related = ("source", "domain")
    inlines = [ColumnInline]
    actions = ["assign_owner", "set_sensitivity"]
    create_service, update_service, delete_service = services.asset_register, services.asset_update, services.asset_delete
    instance_kwarg = "asset"
    fieldsets = (
        (None, {"fields": ("source", "qualified_name", "name", "kind", "status", "sensitivity", "description", "location")}),
        ("Ownership", {"fields": ("owners", "stewards", "domain", "tags", "glossary_terms")}),
        (
            "Privacy (GDPR Art. 30)",
            {
                "fields": (
                    "processing_purposes",
                    "legal_basis",
                    "data_subject_categories",
                    "recipients",
                    "international_transfers",
                    "retention_days",
                    "storage_country",
                )
            },
        ),
    )

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    def save_formset(self, request, form, formset, change):
        if formset.model is not Column:
            super().save_formset(request, form, formset, change)
            return
        # Django's change message reads these three lists, which formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        editable = {"position", "name", "data_type", "nullable", "description"}
        with transaction.atomic():
            for inline_form in formset.forms:
                deleting = inline_form.cleaned_data.get("DELETE")
                if not inline_form.has_changed() and not deleting:
                    continue
                column = inline_form.instance
                if deleting and column.pk:
                    services.column_delete(column=Column.objects.get(pk=column.pk), actor=request.user)
                    formset.deleted_objects.append(column)
                    continue
                fields = {n: inline_form.cleaned_data[n] for n in inline_form.changed_data if n in editable}
                if column.pk:
                    services.column_update(column=Column.objects.get(pk=column.pk), actor=request.user, **fields)
                    formset.changed_objects.append((column, list(fields)))
                else:
                    fields.pop("name", None)
                    created = services.column_create(
                        actor=request.user, asset=form.instance, name=inline_form.cleaned_data["name"], **fields
                    )
                    formset.new_objects.append(created)

    @admin.action(description="Assign an owner to selected assets", permissions=["catalog_change"])
    def assign_owner(self, request, queryset):
        if "apply" in request.POST:
            form = AssignOwnerForm(request.POST)
            if form.is_valid():
                owner, reason = form.cleaned_data["owner"], form.cleaned_data["reason"]
                done = 0
                for asset in queryset:
                    owners = [*asset.owners.all(), owner]
                    if not self.run_service(request, services.asset_set_owners, asset=asset, owners=owners, reason=reason):
                        break
                    done += 1
                if done:
                    self.message_user(request, f"Added {owner} as owner of {done} asset(s).")
                return None
        else:
            form = AssignOwnerForm()
        return render(
            request,
            "admin/catalog/bulk_form.html",
            {"form": form, "queryset": queryset, "action": "assign_owner", "title": "Assign an owner", "opts": self.model._meta},
        )

    @admin.action(description="Set sensitivity of selected assets", permissions=["decide"])
    def set_sensitivity(self, request, queryset):
        if "apply" in request.POST:
            form = SetSensitivityForm(request.POST)
            if form.is_valid():
                level = form.cleaned_data["sensitivity"]
                reason = form.cleaned_data["reason"] or "bulk action in admin"
                done = 0
                for asset in queryset:
                    if not self.run_service(request, services.asset_update, asset=asset, sensitivity=level, reason=reason):
                        break
                    done += 1
                if done:
                    self.message_user(request, f"Set sensitivity {level} on {done} asset(s).")
                return None
        else:
            form = SetSensitivityForm()
        return render(
            request,
            "admin/catalog/bulk_form.html",
            {
                "form": form,
                "queryset": queryset,
                "action": "set_sensitivity",
                "title": "Set sensitivity",
                "opts": self.model._meta,
            },
        )


@admin.register(Column)
class ColumnAdmin(ServiceAdmin):
    list_display = ("name", "asset", "position", "data_type", "nullable")
    list_filter = ("data_type", "nullable", "tags")
    search_fields = ("name", "description", "asset__qualified_name")
    list_select_related = ("asset", "asset__source")
    autocomplete_fields = ("asset", "tags", "glossary_terms")
    create_service, update_service, delete_service = services.column_create, services.column_update, services.column_delete
    instance_kwarg = "column"


@admin.register(Classification)
class ClassificationAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Stewards review suggestions here: confirm or reject in bulk. Rows are created by scans,
    propagation, imports, or the "assign" API; their evidence is read-only."""

    list_display = ("entity_type", "column", "asset", "source", "state", "confidence", "sensitivity", "decided_by")
    list_filter = ("state", "source", "entity_type", "sensitivity")
    search_fields = ("entity_type", "column__name", "column__asset__qualified_name")
    list_select_related = ("column", "column__asset", "decided_by")
    readonly_fields = (
        "column",
        "entity_type",
        "source",
        "state",
        "confidence",
        "evidence",
        "created_by",
        "created_at",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    fields = (*readonly_fields[:4], "sensitivity", *readonly_fields[4:])
    actions = ["confirm", "reject"]

    @admin.display(description="Asset")
    def asset(self, obj):
        return obj.column.asset

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "sensitivity" in form.changed_data:
            # Refused (auditor, viewer, service): the error message says why, nothing is saved.
            self.run_service(
                request,
                services.classification_set_sensitivity,
                classification=Classification.objects.get(pk=obj.pk),
                sensitivity=obj.sensitivity,
            )

    @service_action(description="Confirm selected classifications", permissions=["decide"])
    def confirm(self, request, classification):
        services.classification_confirm(classification=classification, actor=request.user, reason="confirmed in admin")

    @service_action(description="Reject selected classifications (final: re-scans keep them rejected)", permissions=["decide"])
    def reject(self, request, classification):
        services.classification_reject(classification=classification, actor=request.user, reason="rejected in admin")


class ModelVersionInline(admin.StackedInline):
    model = ModelVersion
    extra = 0
    fields = ("version", "stage", "framework", "algorithm")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # versions are registered on their own page, with their datasets

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MLModel)
class MLModelAdmin(ServiceAdmin):
    list_display = ("name", "task", "owner", "domain")
    list_filter = ("task", "domain", "tags")
    search_fields = ("name", "description")
    autocomplete_fields = ("tags",)
    inlines = [ModelVersionInline]
    create_service, update_service, delete_service = services.model_create, services.model_update, services.model_delete
    instance_kwarg = "model"


@admin.register(ModelVersion)
class ModelVersionAdmin(ServiceAdmin):
    list_display = ("__str__", "stage", "framework", "algorithm", "created_at")
    list_filter = ("stage", "framework", "model")
    search_fields = ("version", "model__name", "algorithm")
    autocomplete_fields = ("training_datasets", "evaluation_datasets", "features")
    create_service, update_service, delete_service = (
        services.model_version_register,
        services.model_version_update,
        services.model_version_delete,
    )
    instance_kwarg = "model_version"


admin.site.site_header = "Custos governance catalog"
admin.site.site_title = "Custos"
admin.site.index_title = "Catalog, lineage, compliance and audit"
