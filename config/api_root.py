"""The API root, kept apart from core.api: DRF settings import core.api.errors while the schema
generator (imported here) imports DRF settings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core.api.views import CustosAPIView


class ApiRootView(CustosAPIView):
    """``GET /api/v1/``: the API's top-level resources, so a client can discover them."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        from config.urls import api_v1

        resources: set[str] = set()
        for entry in api_v1:
            for pattern in getattr(entry, "url_patterns", [entry]):
                first = str(pattern.pattern).lstrip("^").split("/")[0].split("(")[0].rstrip("$?")
                if first and first.replace("-", "").replace("_", "").isalnum():
                    resources.add(first)
        base = request.build_absolute_uri("/api/v1/")
        return Response(
            {
                "resources": {name: base + name for name in sorted(resources)},
                "schema": request.build_absolute_uri("/api/schema/"),
                "docs": request.build_absolute_uri("/api/docs/"),
            }
        )
