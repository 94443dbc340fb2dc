"""Pages of the audit app (mounted at /audit/ by config/urls.py; namespace ``audit``)."""

from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [path("verify/", views.verify, name="verify")]
