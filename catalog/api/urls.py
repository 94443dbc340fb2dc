"""API routes of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog.api import views
from core.api.routers import Router

router = Router()
router.register("domains", views.DomainViewSet, basename="domain")
router.register("tags", views.TagViewSet, basename="tag")
router.register("glossary-terms", views.GlossaryTermViewSet, basename="glossary-term")
router.register("sources", views.DataSourceViewSet, basename="source")
router.register("assets", views.DataAssetViewSet, basename="asset")
router.register("columns", views.ColumnViewSet, basename="column")
router.register("classifications", views.ClassificationViewSet, basename="classification")
router.register("models", views.MLModelViewSet, basename="mlmodel")
router.register("model-versions", views.ModelVersionViewSet, basename="model-version")

urlpatterns = [path("search", views.SearchView.as_view(), name="search"), *router.urls]
