"""Pages of the review queue (mounted at /review/ by config/urls.py; namespace ``review``)."""

from django.urls import path

from compliance.scanning import views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("assets/<int:pk>/", views.asset_review, name="asset"),
    path("assets/<int:pk>/sample/", views.asset_sample, name="sample"),
    path("decide/", views.decide, name="decide"),
]
