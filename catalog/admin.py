"""Admin for stewards. Every save, delete and bulk action goes through catalog.services, so the
admin leaves the same audit trail as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.permissions import CHANGE, DECIDE, DELETE, user_can
from catalog import selectors, services
from catalog.choices import ClassificationState, Sensitivity
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
from core.admin import CustosModelAdmin, ReasonForm, service_action


class RoleActionsMixin:
    """Admin actions declare ``permissions=["decide"]`` or ``["catalog_change"]``: answered from the
    role matrix (``has_<action>_permission``, see ``core.admin.RoleActionPermissionsMixin``, which
    also says why when a hidden action is posted anyway). The services behind every action check
    the actor again, so an action cannot do what its service refuses."""

    def has_catalog_change_permission(self, request) -> bool:
        return user_can(request.user, CHANGE)

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


class AssignOwnerForm(ReasonForm):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text="Added to each selected asset's owners (adding yourself is a steward decision).",
    )


class SetSensitivityForm(ReasonForm):
    # No level is preselected: lowering one is a steward decision and must be chosen on purpose.
    sensitivity = forms.ChoiceField(
        choices=[("", "— choose a level —"), *Sensitivity.choices],
        help_text="Never below what an asset's confirmed classifications imply (the service refuses that).",
    )


class ServiceAdmin(RoleActionsMixin, CustosModelAdmin):
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
            type(self).delete_service(**{self.instance_kwarg: obj}, actor=request.user, reason=self.delete_reason(request))
        except ValidationError as exc:
            self.delete_refused(request, "; ".join(exc.messages))

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


def _breakable(entity_type: str):
    """``US_SOCIAL_SECURITY_NUMBER`` that a narrow cell may break after an underscore (<wbr>)."""
    first, *rest = entity_type.split("_")
    html = format_html("{}", first)
    for part in rest:
        html = format_html("{}_<wbr>{}", html, part)
    return html


class ColumnInline(admin.TabularInline):
    """Columns of an asset, compact enough for a 1366 px screen: position, name, type, nullable and
    the PII labels; the description, tags and glossary terms are edited on the column's own page
    (the "edit column" link). Edits here go through column services (DataAssetAdmin.save_formset)."""

    model = Column
    extra = 0
    fields = ("position", "name", "data_type", "nullable", "pii", "more")
    readonly_fields = ("pii", "more")

    @admin.display(description="PII (state)")
    def pii(self, obj):
        live = [c for c in obj.classifications.all() if c.state != ClassificationState.REJECTED]
        if not live:
            return "—"
        return format_html_join(", ", "{} ({})", ((_breakable(c.entity_type), c.state) for c in live))

    @admin.display(description="details")
    def more(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:catalog_column_change", args=[obj.pk])
        return format_html(
            '<a href="{}" aria-label="edit column {} (description, tags, glossary)">edit column</a>', url, obj.name
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        sizes = {"position": 4, "name": 20, "data_type": 10}
        if field is not None and db_field.name in sizes:
            field.widget.attrs["size"] = sizes[db_field.name]
        return field

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
    actions = ["assign_owner", "set_sensitivity", "delete_assets"]
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

    @service_action(
        description="Assign an owner to selected assets",
        permissions=["catalog_change"],
        form=AssignOwnerForm,
        summary=lambda asset: "owners: " + (", ".join(str(o) for o in asset.owners.all()) or "none"),
    )
    def assign_owner(self, request, asset, *, owner, reason):
        # the service decides (role first; the same owners again is no change and no event)
        owners = list(asset.owners.all())
        services.asset_set_owners(
            asset=asset, owners=[*owners, owner] if owner not in owners else owners, actor=request.user, reason=reason
        )
        return owner not in owners

    @service_action(
        description="Set sensitivity of selected assets",
        permissions=[DECIDE],
        form=SetSensitivityForm,
        summary=lambda asset: f"now {asset.get_sensitivity_display()}",
    )
    def set_sensitivity(self, request, asset, *, sensitivity, reason):
        before = asset.sensitivity
        return (
            services.asset_update(asset=asset, sensitivity=sensitivity, actor=request.user, reason=reason).sensitivity != before
        )

    @service_action(
        description="Delete selected assets",
        permissions=[DELETE],
        warning="A soft delete: each asset's status becomes “deleted”; its row, columns and history stay.",
        summary=lambda asset: asset.get_status_display(),
    )
    def delete_assets(self, request, asset, *, reason):
        before = asset.status
        return services.asset_delete(asset=asset, actor=request.user, reason=reason).status != before


@admin.register(Column)
class ColumnAdmin(ServiceAdmin):
    list_display = ("name", "asset", "position", "data_type", "nullable")
    list_filter = ("data_type", "nullable", "tags")
    search_fields = ("name", "description", "asset__qualified_name")
    list_select_related = ("asset", "asset__source")
    autocomplete_fields = ("asset", "tags", "glossary_terms")
    create_service, update_service, delete_service = services.column_create, services.column_update, services.column_delete
    instance_kwarg = "column"
    machine_written_json = ("former_names",)  # kept by renames; masking follows every former name


def _classification_state(c: Classification) -> str:
    return f"confidence {c.confidence:.2f}, asset {c.column.asset}"


@admin.register(Classification)
class ClassificationAdmin(RoleActionsMixin, CustosModelAdmin):
    """Stewards review suggestions here: confirm or reject in bulk. Rows are created by scans,
    propagation, imports, or the "assign" API; their evidence is read-only."""

    # who decided is on each row's page and in the ledger; seven columns fit 1366 px beside the filters
    list_display = ("entity_type", "column_name", "asset", "source", "state", "confidence", "sensitivity")
    list_filter = ("state", "source", "entity_type", "sensitivity")
    search_fields = ("entity_type", "column__name", "column__asset__qualified_name")
    list_select_related = ("column", "column__asset", "column__asset__source")
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

    @admin.display(description="Column", ordering="column__name")
    def column_name(self, obj):
        return obj.column.name  # the asset has its own column: "asset.table.column" twice was too wide

    @admin.display(description="Asset", ordering="column__asset__qualified_name")
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

    @service_action(
        description="Confirm selected classifications",
        permissions=[DECIDE],
        summary=_classification_state,
    )
    def confirm(self, request, classification, *, reason):
        services.classification_confirm(classification=classification, actor=request.user, reason=reason)

    @service_action(
        description="Reject selected classifications",
        permissions=[DECIDE],
        warning="Rejecting is final: later scans and propagation keep a rejected classification rejected.",
        summary=_classification_state,
    )
    def reject(self, request, classification, *, reason):
        services.classification_reject(classification=classification, actor=request.user, reason=reason)


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
