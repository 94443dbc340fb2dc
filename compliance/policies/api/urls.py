"""API routes of compliance.policies (mounted under /api/v1/)."""

from django.urls import path

from compliance.policies.api import views
from core.api.routers import Router

router = Router()
router.register("regulation-packs", views.RegulationPackViewSet, basename="regulation-pack")
router.register("regulation-rules", views.RegulationRuleViewSet, basename="regulation-rule")
router.register("policies", views.PolicyViewSet, basename="policy")
router.register("findings", views.FindingViewSet, basename="finding")
router.register("legal-holds", views.LegalHoldViewSet, basename="legal-hold")
router.register("access-grants", views.AccessGrantViewSet, basename="access-grant")
router.register("anonymization-runs", views.AnonymizationRunViewSet, basename="anonymization-run")
router.register("retention-runs", views.RetentionRunViewSet, basename="retention-run")

urlpatterns = [
    path("access/decide", views.AccessDecideView.as_view(), name="access-decide"),
    path("assets/<int:pk>/sample", views.AssetSampleView.as_view(), name="asset-sample"),
    path("compliance/posture", views.PostureView.as_view(), name="compliance-posture"),
    path("tokens/reveal", views.TokenRevealView.as_view(), name="token-reveal"),
    *router.urls,
]
