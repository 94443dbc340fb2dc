"""Pages of ML models and model versions (namespace ``models``, mounted at ``/models/`` by config/urls.py)."""

from django.urls import path

from monitoring import views

app_name = "models"
urlpatterns = [
    path("", views.model_list_page, name="list"),
    path("<int:pk>/", views.model_page, name="model"),
    path("versions/<int:pk>/", views.version_page, name="version"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge_page, name="alert_acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve_page, name="alert_resolve"),
    path(
        "quality-alerts/<int:pk>/acknowledge/",
        views.quality_alert_page,
        {"verb": "acknowledge"},
        name="quality_alert_acknowledge",
    ),
    path("quality-alerts/<int:pk>/resolve/", views.quality_alert_page, {"verb": "resolve"}, name="quality_alert_resolve"),
]
