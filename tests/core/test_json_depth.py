"""Issue 17 item 2: JSON nested thousands of levels deep is a 400 in the error shape, not a 500."""

from __future__ import annotations

import json

import pytest

from core.api.parsers import MAX_DEPTH, depth_exceeds

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("depth", [5000, MAX_DEPTH + 1])
def test_a_body_nested_too_deep_is_a_400_parse_error(api_as, depth):
    response = api_as("admin").post("/api/v1/tags", "[" * depth + "]" * depth, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_within_the_limit_still_parses(api_as):
    nested = {"name": "deep-ok", "description": "x"}
    body = json.dumps(nested)
    assert api_as("admin").post("/api/v1/tags", body, content_type="application/json").status_code == 201
    assert not depth_exceeds(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH), MAX_DEPTH)
    assert depth_exceeds(json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)), MAX_DEPTH)
