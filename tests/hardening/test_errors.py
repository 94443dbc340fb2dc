"""Clean errors for every bad input (issue 17, items 1, 2 and 7): bodies over the limits, unknown
API paths and database failures answer in the API error envelope, never Django's HTML pages or a
500; the OpenLineage intake reads no further than its limits."""

from __future__ import annotations

import gzip
import json

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from tests.lineage.helpers import dataset, run_event

pytestmark = pytest.mark.django_db
MiB = 1 << 20


def envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code
    return error


@pytest.fixture
def service(make_user):
    client = APIClient()
    client.force_authenticate(make_user("service"))
    return client


def test_a_50_mb_body_is_a_413_in_the_error_envelope(api_as):
    response = api_as("steward").post("/api/v1/assets", data=b"x" * (50 * MiB), content_type="application/json")
    error = envelope(response, 413, "too_large")
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/assets/1/no-such-action", "/api/v2/assets"])
def test_an_unknown_api_path_is_a_404_in_the_error_envelope_without_echoing_it(api_as, path):
    error = envelope(api_as("viewer").get(path), 404, "not_found")
    assert "no-such" not in error["message"] and "v2" not in error["message"]


def test_an_unknown_page_outside_the_api_stays_an_html_404(api_as):
    response = api_as("viewer").get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def _big_event(size: int) -> bytes:
    event = run_event("load", [dataset("raw.orders", columns=["id"])], [dataset("stg.orders", columns=["id"])])
    event["run"]["facets"] = {
        "padding": {"_producer": "https://example.org", "_schemaURL": "https://example.org/p", "v": "p" * size}
    }
    return json.dumps(event).encode()


def test_a_plain_openlineage_body_over_data_upload_max_memory_size_is_a_413(service, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1 * MiB
    response = service.post("/api/v1/lineage", data=_big_event(3 * MiB), content_type="application/json")
    error = envelope(response, 413, "too_large")
    assert error["message"] == f"request body: over {MiB} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
    small = service.post("/api/v1/lineage", data=_big_event(1000), content_type="application/json")
    assert small.status_code in (200, 201), small.content[:300]


def test_a_plain_openlineage_body_is_capped_at_the_gzip_limit_when_django_sets_none(service, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    settings.CUSTOS_OPENLINEAGE_MAX_BODY_BYTES = 2 * MiB
    response = service.post("/api/v1/lineage", data=_big_event(3 * MiB), content_type="application/json")
    error = envelope(response, 413, "too_large")
    assert "CUSTOS_OPENLINEAGE_MAX_BODY_BYTES" in error["message"]
    # the gzip path has the same limit on what it decompresses
    body = gzip.compress(_big_event(3 * MiB))
    response = service.post("/api/v1/lineage", data=body, content_type="application/json", headers={"Content-Encoding": "gzip"})
    assert "decompressed size over 2097152 bytes" in envelope(response, 413, "too_large")["message"]


def test_openlineage_json_nested_100k_deep_is_a_400(service):
    body = b'{"eventType": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    error = envelope(service.post("/api/v1/lineage", data=body, content_type="application/json"), 400, "parse_error")
    assert "nested deeper than 64 levels" in error["message"]


def test_a_database_failure_mid_request_is_a_503_in_the_envelope_and_the_next_request_works(api_as, caplog):
    client = api_as("viewer")

    def drop(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(drop):
        response = client.get("/api/v1/assets")
    error = envelope(response, 503, "database_unavailable")
    assert "server closed" not in error["message"]
    assert any("database error" in r.getMessage() for r in caplog.records)
    assert client.get("/api/v1/assets").status_code == 200


def test_connection_health_checks_are_on(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_number_past_the_database_range_in_a_filter_is_a_400(api_as):
    response = api_as("viewer").get("/api/v1/scans", {"asset": str(10**40)})
    if connection.vendor == "sqlite":  # SQLite cannot bind it: OverflowError, a 500 before
        envelope(response, 400, "invalid")
    else:  # PostgreSQL compares it as a numeric: nothing matches
        assert response.status_code == 200 and response.json()["count"] == 0


def test_a_service_keyword_the_request_left_out_takes_the_model_default_not_a_500(api_as):
    response = api_as("steward").post("/api/v1/policies", {"kind": "access", "name": "no config"}, format="json")
    envelope(response, 400, "invalid")  # was a TypeError 500: policy_create() missing 'config'
