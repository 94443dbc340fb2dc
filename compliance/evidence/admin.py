"""Admin for evidence exports: exporters (auditors and admins: the one rule of
``services.require_exporter``) start an export here (the add form calls
``services.export_request``, so it is audited and built by a worker), see every export whoever
made it, and download the bundle from the export's page (each download is a ledger event).
Stewards and everyone else do not see the module."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.permissions import EXPORT, user_can
from compliance.evidence import selectors, services
from compliance.evidence.choices import ExportStatus
from compliance.evidence.models import EvidenceExport
from core.admin import CustosModelAdmin


def may_export(user) -> bool:
    """Only decides what the admin shows; the services check the same rule again."""
    return user_can(user, EXPORT)


class ExportRequestForm(forms.ModelForm):
    asset_ids = forms.CharField(
        required=False,
        help_text="Optional: asset ids separated by commas, to narrow the evidence views (the ledger range stays complete).",
    )

    class Meta:
        model = EvidenceExport
        fields = ["period_from", "period_to", "regulation", "asset_ids"]
        help_texts = {
            "period_from": "Empty: from the start of the audit log.",
            "period_to": "Empty: now. The evidence describes the estate as it stood at this moment.",
            "regulation": "Optional: gdpr, hipaa or ccpa.",
        }

    def clean_asset_ids(self):
        raw = self.cleaned_data.get("asset_ids") or ""
        if isinstance(raw, list):
            return raw
        try:
            return [int(part) for part in raw.replace(" ", "").split(",") if part]
        except ValueError:
            raise forms.ValidationError("asset ids are whole numbers separated by commas")


@admin.register(EvidenceExport)
class EvidenceExportAdmin(CustosModelAdmin):
    list_display = [
        "id",
        "status",
        "progress",
        "requested_by_name",
        "requested_at",
        "period_from",
        "period_to",
        "regulation",
        "size",
        "download_link",
    ]
    list_filter = ["status", "regulation"]
    form = ExportRequestForm
    readonly = [f.name for f in EvidenceExport._meta.fields] + ["download_link"]

    def get_fields(self, request, obj=None):
        return ["period_from", "period_to", "regulation", "asset_ids"] if obj is None else self.readonly

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly

    def get_queryset(self, request):
        return selectors.export_list(user=request.user)

    def has_module_permission(self, request) -> bool:
        return may_export(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_export(request.user)

    def has_add_permission(self, request) -> bool:
        return may_export(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = services.export_request(  # checks the export rule itself
            actor=request.user,
            period_from=data.get("period_from"),
            period_to=data.get("period_to"),
            regulation=data.get("regulation") or "",
            asset_ids=data.get("asset_ids") or [],
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        return None

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Evidence export {obj.pk} started; this page shows its progress.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:evidence_evidenceexport_change", args=[obj.pk]))

    @admin.display(description="bundle")
    def download_link(self, obj):
        if obj.status != ExportStatus.SUCCEEDED:
            return "—"
        url = reverse("admin:evidence_evidenceexport_download", args=[obj.pk])
        return format_html('<a href="{}">download zip</a>', url)

    def get_urls(self):
        custom = [
            path("<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="evidence_evidenceexport_download")
        ]
        return custom + super().get_urls()

    def download_view(self, request, pk: int):
        export = self.get_queryset(request).filter(pk=pk).first()
        if export is None or not may_export(request.user):
            raise PermissionDenied
        try:
            bundle = services.export_download(export=export, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:evidence_evidenceexport_change", args=[pk]))
        return FileResponse(bundle.open("rb"), as_attachment=True, filename=bundle.name, content_type="application/zip")
