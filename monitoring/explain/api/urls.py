"""API routes of monitoring.explain (mounted under /api/v1/)."""

from core.api.routers import Router
from monitoring.explain.api import views

router = Router()
router.register("explain/artifacts", views.ModelArtifactViewSet, basename="explain-artifact")
router.register("explain/explanations", views.ExplanationViewSet, basename="explain-explanation")
router.register("explain/fairness", views.FairnessAssessmentViewSet, basename="explain-fairness")
router.register("explain/model-versions", views.ModelCardViewSet, basename="explain-model-card")

urlpatterns = router.urls
