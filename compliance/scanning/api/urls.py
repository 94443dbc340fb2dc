"""API routes of compliance.scanning (mounted under /api/v1/)."""

from core.api.routers import Router

from compliance.scanning.api import views

router = Router()
router.register("scans", views.ScanRunViewSet, basename="scan")

urlpatterns = router.urls
