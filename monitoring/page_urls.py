"""Pages of ML models and model versions (namespace ``models``, mounted at ``/models/`` by config/urls.py)."""

from django.urls import path

from monitoring import views

app_name = "models"
urlpatterns = [
    path("", views.model_list_page, name="list"),
    path("<int:pk>/", views.model_page, name="model"),
    path("versions/<int:pk>/", views.version_page, name="version"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge_page, name="alert_acknowledge"),
]
