from django.urls import path

from lineage import views

app_name = "lineage"
urlpatterns = [
    path("explorer/", views.explorer, name="explorer"),
    path("explorer/graph.json", views.explorer_graph, name="explorer_graph"),
    path("assets/<int:pk>/", views.asset_lineage, name="asset"),
    path("model-versions/<int:pk>/", views.model_version_lineage, name="model_version"),
]
