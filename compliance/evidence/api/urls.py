"""API routes of compliance.evidence (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from compliance.evidence.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # DRF's constructor only knows "/" or "": accept both spellings
router.register("evidence/exports", views.EvidenceExportViewSet, basename="evidence-export")

urlpatterns = router.urls
