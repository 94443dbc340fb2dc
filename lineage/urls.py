from django.urls import path

from lineage import views

app_name = "lineage"
urlpatterns = [
    path("assets/<int:pk>/", views.asset_lineage, name="asset"),
    path("model-versions/<int:pk>/", views.model_version_lineage, name="model_version"),
]
