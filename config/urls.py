"""Root URLs. Each app owns its API routes in ``<app>/api/urls.py``, mounted under /api/v1/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.api_root import ApiRootView

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("lineage.api.urls")),
    path("", include("compliance.api.urls")),
    path("", include("monitoring.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("lineage/", include("lineage.urls")),
    path("", include("catalog.urls")),
]
