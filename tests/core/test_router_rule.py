"""Defect 9: every API path answers with and without its trailing slash, the same way, and never
with a redirect (a POST turned into a 301 loses its body); the root advertises slash-less links."""

import pytest
from rest_framework.test import APIClient

from tests.core.urlconf import api_endpoints

pytestmark = pytest.mark.django_db

ENDPOINTS = api_endpoints()


@pytest.fixture
def admin_client(make_user):
    client = APIClient()
    client.force_authenticate(make_user("admin"))
    return client


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.path + str(sorted(e.actions)) for e in ENDPOINTS])
def test_it_serves_both_spellings_without_redirect(admin_client, endpoint):
    methods = sorted(endpoint.actions) or ["get", "post"]
    for method in methods:
        bare = getattr(admin_client, method)(endpoint.path, {}, format="json")
        slashed = getattr(admin_client, method)(endpoint.path + "/", {}, format="json")
        for response in (bare, slashed):
            assert response.status_code not in {301, 302, 307, 308}, (method, endpoint.path, response.status_code)
        assert bare.status_code == slashed.status_code, (method, endpoint.path, bare.status_code, slashed.status_code)


def test_a_post_without_slash_creates(admin_client):
    response = admin_client.post("/api/v1/domains", {"name": "finance"}, format="json")
    assert response.status_code == 201, response.content
    assert admin_client.post("/api/v1/tags/", {"name": "pii"}, format="json").status_code == 201


def test_the_api_root_is_slash_less_and_advertises_slash_less_links(admin_client):
    response = admin_client.get("/api/v1")
    assert response.status_code == 200
    links = response.json()["resources"]
    assert links and all(not url.endswith("/") for url in links.values())
    assert "http://testserver/api/v1/assets" in links.values()
