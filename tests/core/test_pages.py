"""core.pages: panels are shown in order, only to roles that hold their permission, and only when
their app has something to show."""

import pytest
from django.test import RequestFactory

from core import pages


@pytest.fixture
def slot():
    yield "test-slot"
    for key in [k for k in pages._panels if k[0] == "test-slot"]:
        pages._panels.pop(key)


@pytest.mark.django_db
def test_panels_follow_order_permission_and_emptiness(slot, make_user):
    pages.panel(slot, "b", label="B", template="b.html", context=lambda r, o: {"n": o}, order=20)
    pages.panel(slot, "a", label="A", template="a.html", context=lambda r, o: {"n": o}, order=10)
    pages.panel(slot, "empty", label="E", template="e.html", context=lambda r, o: None, order=5)
    pages.panel(slot, "decide", label="D", template="d.html", context=lambda r, o: {}, permission="decide")
    request = RequestFactory().get("/")

    request.user = make_user("viewer")
    assert [p["key"] for p in pages.panels_for(slot, request, 7)] == ["a", "b"]
    assert pages.panels_for(slot, request, 7)[0]["context"] == {"n": 7}

    request.user = make_user("steward")
    assert [p["key"] for p in pages.panels_for(slot, request, 7)] == ["a", "b", "decide"]
