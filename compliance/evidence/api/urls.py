"""API routes of compliance.evidence (mounted under /api/v1/)."""

from compliance.evidence.api import views
from core.api.routers import Router

router = Router()
router.register("evidence/exports", views.EvidenceExportViewSet, basename="evidence-export")

urlpatterns = router.urls
