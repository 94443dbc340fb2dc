"""API routes of the lineage app (mounted under /api/v1/)."""

urlpatterns: list = []
