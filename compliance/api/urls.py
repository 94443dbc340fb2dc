"""API routes of the compliance app and its sub-apps (mounted under /api/v1/)."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("compliance.scanning.api.urls")),
    path("", include("compliance.policies.api.urls")),
    path("", include("compliance.evidence.api.urls")),
]
