"""The two answers schemathesis found off their schema (issue 17, item 2), checked against the live
OpenAPI document: the search answer's shape, and the model card's errors with ``?format=html``."""

from __future__ import annotations

import jsonschema
import pytest
import yaml
from rest_framework.test import APIClient

from accounts.choices import Role
from tests.factories import AssetFactory, ModelVersionFactory


@pytest.fixture
def api(make_user):
    client = APIClient()
    client.force_authenticate(make_user(Role.ADMIN))
    return client


def _schema(api) -> dict:
    return yaml.safe_load(api.get("/api/schema/").content)


def _response_schema(doc: dict, path: str, status: str, media: str) -> dict:
    schema = doc["paths"][path]["get"]["responses"][status]["content"][media]["schema"]
    # resolve #/components/schemas/... references for jsonschema
    return {**schema, "components": doc["components"]}


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)  # "#/components/..." refs resolve inside it


@pytest.mark.django_db
def test_the_search_answer_matches_its_documented_schema(api):
    AssetFactory(name="customer_orders")
    doc = _schema(api)
    response = api.get("/api/v1/search", {"q": "customer"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "totals", "results"} and body["results"]
    _validator(_response_schema(doc, "/api/v1/search", "200", "application/json")).validate(body)


@pytest.mark.django_db
def test_a_model_card_error_is_the_json_envelope_also_when_html_is_asked(api):
    response = api.get("/api/v1/explain/model-versions/999999/card/", {"format": "html"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["status"] == 404
    # the card itself is still HTML when asked for
    version = ModelVersionFactory()
    page = api.get(f"/api/v1/explain/model-versions/{version.pk}/card/", {"format": "html"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
