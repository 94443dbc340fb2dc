"""Evidence export API for auditors (role ``export``: auditor and admin).

``POST /evidence/exports`` starts an export and answers 202 with its id; the bundle is built by a
Celery worker. ``GET /evidence/exports/{id}`` shows status and progress; ``GET
/evidence/exports/{id}/download`` hands out the zip once it is ready (409 before), recording the
download in the ledger.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import EXPORT
from compliance.evidence import selectors, services
from compliance.evidence.api import serializers as s
from compliance.evidence.choices import ExportStatus
from core.api.errors import error_response
from core.api.viewsets import RestrictedGenericViewSet


class EvidenceExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedGenericViewSet):
    """Every export to every exporter (``EvidenceExport.objects.restrict``); writes through services."""

    serializer_class = s.EvidenceExportSerializer
    permission_action = EXPORT
    selector = staticmethod(selectors.export_list)

    @extend_schema(request=s.ExportRequestSerializer, responses={202: s.EvidenceExportSerializer})
    def create(self, request):
        form = s.ExportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        export = services.export_request(actor=request.user, **form.validated_data)
        export.refresh_from_db()
        return Response(s.EvidenceExportSerializer(export, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export = self.get_object()
        if export.status != ExportStatus.SUCCEEDED:
            return error_response(
                f"the export is {export.status}, not ready for download", status_code=status.HTTP_409_CONFLICT, code="not_ready"
            )
        path = services.export_download(export=export, actor=request.user)
        response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")
        response["X-Content-SHA256"] = export.sha256
        return response
