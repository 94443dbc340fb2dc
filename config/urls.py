"""Root URLs. Each app owns its API routes in ``<app>/api/urls.py``, mounted under /api/v1/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.api_root import ApiRootView
from core import views as core_views
from core.api.routers import api_urls

# every API path answers with and without its trailing slash, never a redirect (core/api/routers.py)
api_v1 = [
    path("", api_urls("accounts.api.urls")),
    path("", api_urls("catalog.api.urls")),
    path("", api_urls("audit.api.urls")),
    path("", api_urls("lineage.api.urls")),
    path("", api_urls("compliance.api.urls")),
    path("", api_urls("monitoring.api.urls")),
    path("", api_urls("monitoring.explain.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1", ApiRootView.as_view(), name="api-root"),  # the slash-less form is the advertised one
    path("api/v1/", ApiRootView.as_view()),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("lineage/", include("lineage.urls")),
    path("review/", include("compliance.scanning.urls")),  # the review queue (PAGES-REVIEW)
    path("dashboard/", core_views.dashboard, name="dashboard"),  # posture dashboard (PAGES-REVIEW)
    path("audit/", include("audit.urls")),  # the ledger's page actions (PAGES-REVIEW)
    path("models/", include("monitoring.page_urls")),  # model and model-version pages (monitoring/views.py)
    path("marquez/api/v1/", include("lineage.api.marquez")),  # Marquez clients: base URL http://HOST/marquez
    path("metrics", include("monitoring.urls")),  # Prometheus: token or allow-list (docs/monitoring.md)
    path("", include("catalog.urls")),
]

# under /api/ errors Django answers itself (unknown path, body too large, a crash) use the API's
# JSON error envelope; elsewhere Django's pages (core/api/errors.py)
handler400 = "core.api.errors.bad_request"
handler403 = "core.api.errors.permission_denied"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"
