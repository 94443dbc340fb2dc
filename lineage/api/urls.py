"""API routes of the lineage app (mounted under /api/v1/)."""

from django.urls import path

from lineage.api import views

urlpatterns = [
    path("lineage", views.LineageView.as_view(), name="lineage"),
    path("lineage/batch", views.LineageBatchView.as_view(), name="lineage-batch"),
    path("lineage/graph", views.GraphView.as_view(), name="lineage-graph"),
    path("lineage/impact", views.ImpactView.as_view(), name="lineage-impact"),
    path("lineage/path", views.PathView.as_view(), name="lineage-path"),
    path("lineage/models-depending", views.ModelsDependingView.as_view(), name="lineage-models-depending"),
    path("lineage/model-versions/<int:pk>/provenance", views.ProvenanceView.as_view(), name="lineage-provenance"),
    path("lineage/columns/<int:pk>/why-pii", views.WhyPiiView.as_view(), name="lineage-why-pii"),
    path("lineage/edges/<int:pk>/propagation", views.EdgePropagationView.as_view(), name="lineage-edge-propagation"),
]
