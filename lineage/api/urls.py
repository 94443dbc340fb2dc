"""API routes of the lineage app (mounted under /api/v1/), each with and without a trailing slash."""

from core.api.routers import Router, route
from lineage.api import views, viewsets

router = Router()
router.register("lineage/jobs", viewsets.JobViewSet, basename="lineage-job")
router.register("lineage/runs", viewsets.RunViewSet, basename="lineage-run")
router.register("lineage/events", viewsets.LineageEventViewSet, basename="lineage-event")

urlpatterns = [
    route("lineage", views.LineageView.as_view(), name="lineage"),
    route("lineage/batch", views.LineageBatchView.as_view(), name="lineage-batch"),
    route("lineage/graph", views.GraphView.as_view(), name="lineage-graph"),
    route("lineage/impact", views.ImpactView.as_view(), name="lineage-impact"),
    route("lineage/path", views.PathView.as_view(), name="lineage-path"),
    route("lineage/models-depending", views.ModelsDependingView.as_view(), name="lineage-models-depending"),
    route("lineage/model-versions/<int:pk>/provenance", views.ProvenanceView.as_view(), name="lineage-provenance"),
    route("lineage/columns/<int:pk>/why-pii", views.WhyPiiView.as_view(), name="lineage-why-pii"),
    route("lineage/edges/<int:pk>/propagation", views.EdgePropagationView.as_view(), name="lineage-edge-propagation"),
    *router.urls,
]
