"""API routes of compliance.scanning (mounted under /api/v1/)."""

from compliance.scanning.api import views
from core.api.routers import Router

router = Router()
router.register("scans", views.ScanRunViewSet, basename="scan")

urlpatterns = router.urls
