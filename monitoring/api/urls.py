"""API routes of the monitoring app (mounted under /api/v1/)."""

from core.api.routers import Router
from monitoring.api import views

router = Router()
router.register("monitoring/monitors", views.MonitorViewSet, basename="monitoring-monitor")
router.register("monitoring/reference-profiles", views.ReferenceProfileViewSet, basename="monitoring-reference-profile")
router.register("monitoring/batches", views.LoggedBatchViewSet, basename="monitoring-logged-batch")
router.register("monitoring/runs", views.MonitorRunViewSet, basename="monitoring-monitor-run")
router.register("monitoring/results", views.MonitorResultViewSet, basename="monitoring-monitor-result")
router.register("monitoring/alerts", views.AlertViewSet, basename="monitoring-alert")
router.register("monitoring/quality-suites", views.QualitySuiteViewSet, basename="monitoring-quality-suite")
router.register("monitoring/quality-runs", views.QualityRunViewSet, basename="monitoring-quality-run")
router.register("monitoring/quality-results", views.QualityResultViewSet, basename="monitoring-quality-result")
router.register("monitoring/quality-alerts", views.QualityAlertViewSet, basename="monitoring-quality-alert")

urlpatterns = router.urls
