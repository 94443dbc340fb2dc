"""API routes of compliance.evidence (mounted under /api/v1/)."""

from core.api.routers import Router

from compliance.evidence.api import views

router = Router()
router.register("evidence/exports", views.EvidenceExportViewSet, basename="evidence-export")

urlpatterns = router.urls
