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

urlpatterns = router.urls
