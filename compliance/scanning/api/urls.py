"""API routes of compliance.scanning (mounted under /api/v1/)."""

urlpatterns: list = []
