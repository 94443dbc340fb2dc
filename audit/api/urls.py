"""API routes of the audit app (mounted under /api/v1/); see audit/api/views.py for the list."""

from django.urls import path

from audit.api import views
from core.api.routers import Router

router = Router()
router.register("audit/events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("audit/checkpoint", views.CheckpointView.as_view(), name="audit-checkpoint"),
    path("audit/public-key", views.PublicKeyView.as_view(), name="audit-public-key"),
    path("audit/proofs/inclusion", views.InclusionProofView.as_view(), name="audit-inclusion-proof"),
    path("audit/proofs/consistency", views.ConsistencyProofView.as_view(), name="audit-consistency-proof"),
    *router.urls,
]
