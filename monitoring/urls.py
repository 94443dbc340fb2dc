"""Non-API routes of the monitoring app: ``/metrics`` (mounted by config/urls.py)."""

from django.urls import path

from monitoring.metrics import metrics_view

urlpatterns = [path("", metrics_view, name="metrics")]
