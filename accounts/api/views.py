from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.permissions import ROLE_ACTIONS, role_of
from core.api.views import CustosAPIView


class MeView(CustosAPIView):
    """Who the caller is and what their role allows."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "role": serializers.CharField(),
                "actions": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        role = role_of(request.user)
        return Response({"username": request.user.get_username(), "role": role, "actions": sorted(ROLE_ACTIONS.get(role, ()))})
