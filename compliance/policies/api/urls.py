"""API routes of compliance.policies (mounted under /api/v1/)."""

urlpatterns: list = []
