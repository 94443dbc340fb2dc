"""API routes of the accounts app (mounted under /api/v1/)."""

from django.urls import path

from accounts.api.views import MeView

urlpatterns = [path("me", MeView.as_view(), name="me")]
