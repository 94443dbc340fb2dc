"""Scoping by construction: every Custos API view is built on core's base classes, so no view can
forget ``restrict()`` (the URLconf is enumerated; a new route is checked without editing a list)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.views import APIView

from core.api.views import CustosAPIView
from core.api.viewsets import RestrictedViewSetMixin
from tests.core.urlconf import api_endpoints

ENDPOINTS = api_endpoints()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.path + str(sorted(e.actions)) for e in ENDPOINTS])
def test_every_api_view_derives_from_a_core_base(endpoint):
    view = endpoint.view
    assert isinstance(view, type) and issubclass(view, APIView), f"{endpoint.path}: not a DRF view"
    if endpoint.actions:  # a viewset
        assert issubclass(view, RestrictedViewSetMixin), f"{view.__module__}.{view.__name__} bypasses RestrictedViewSetMixin"
    else:
        assert issubclass(view, CustosAPIView), f"{view.__module__}.{view.__name__} is not a core CustosAPIView"


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.actions], ids=lambda e: e.path)
def test_no_viewset_overrides_the_restricting_step(endpoint):
    for klass in endpoint.view.__mro__:
        if klass.__module__.startswith(("rest_framework", "core.")):
            break
        assert "filter_queryset" not in klass.__dict__, f"{klass.__name__} overrides filter_queryset"


def test_a_viewset_that_overrides_filter_queryset_is_refused():
    from core.api.viewsets import RestrictedReadOnlyModelViewSet

    with pytest.raises(TypeError, match="filter_queryset"):

        class Sneaky(RestrictedReadOnlyModelViewSet):
            def filter_queryset(self, queryset):
                return queryset


@pytest.mark.django_db
def test_a_queryset_without_restrict_is_refused(rf, make_user):
    from django.contrib.auth.models import Group
    from rest_framework import serializers

    from core.api.viewsets import RestrictedReadOnlyModelViewSet

    class GroupSerializer(serializers.ModelSerializer):
        class Meta:
            model = Group
            fields = ["id"]

    class Plain(RestrictedReadOnlyModelViewSet):
        queryset = Group.objects.all()
        serializer_class = GroupSerializer

    request = rf.get("/x")
    request.user = make_user("admin")
    view = Plain.as_view({"get": "list"})
    with pytest.raises(ImproperlyConfigured, match="restrict"):
        view(request)
