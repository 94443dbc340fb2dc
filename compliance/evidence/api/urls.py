"""API routes of compliance.evidence (mounted under /api/v1/)."""

urlpatterns: list = []
