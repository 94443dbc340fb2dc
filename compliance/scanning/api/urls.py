"""API routes of compliance.scanning (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from compliance.scanning.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # DRF's constructor only knows "/" or "": accept both spellings
router.register("scans", views.ScanRunViewSet, basename="scan")

urlpatterns = router.urls
