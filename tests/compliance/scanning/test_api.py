"""The scans API: 202 and a Celery task, progress and findings, cancel, permissions, one error shape."""

from __future__ import annotations

import pytest

from compliance.scanning.models import ScanRun
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(tmp_path, people):
    path = tmp_path / "people.parquet"
    people[["email", "price"]].to_parquet(path)
    return AssetFactory(location=str(path), kind="file")


def test_post_starts_a_scan_and_answers_202_at_once_then_get_shows_the_findings(
    api_as, asset, engine, eager_celery, django_capture_on_commit_callbacks
):
    client = api_as("steward")
    # the task is sent after commit (eager Celery runs it when the callbacks run, as a worker would)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/scans", {"asset": asset.pk, "sample_size": 200}, format="json")
        assert response.status_code == 202
        assert response.data["status"] == "queued" and response.data["asset"] == asset.pk
        assert ScanRun.objects.get().status == "queued"  # the request did not scan
    detail = client.get(f"/api/v1/scans/{response.data['id']}").data
    assert detail["status"] == "succeeded" and detail["progress"] == 1.0 and detail["rows_total"] == 300
    email = next(c for c in detail["findings"] if c["name"] == "email")
    assert email["entities"][0]["type"] == "EMAIL_ADDRESS" and email["entities"][0]["recognizers"] == ["EmailRecognizer"]
    assert client.get("/api/v1/scans", {"status": "succeeded"}).data["count"] == 1


def test_a_queued_scan_can_be_cancelled(api_as, asset, django_capture_on_commit_callbacks):
    client = api_as("steward")
    run_id = client.post("/api/v1/scans", {"asset": asset.pk}, format="json").data["id"]
    response = client.post(f"/api/v1/scans/{run_id}/cancel", {"reason": "not needed"}, format="json")
    assert response.status_code == 200 and response.data["status"] == "cancelled"
    again = client.post(f"/api/v1/scans/{run_id}/cancel", {}, format="json")
    assert again.status_code == 400 and again.data["error"]["code"] == "invalid"


def test_a_path_outside_the_scan_roots_is_refused_in_the_error_envelope(api_as):
    response = api_as("steward").post("/api/v1/scans", {"location": "/etc/passwd"}, format="json")
    assert response.status_code == 400
    assert response.data["error"]["fields"]["location"] == ["the file is outside the configured data roots (CUSTOS_DATA_ROOTS)"]
    assert not ScanRun.objects.exists()


def test_a_file_under_the_scan_roots_can_be_scanned_by_path(api_as, people, settings, tmp_path):
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    path = tmp_path / "people.csv"
    people[["email"]].head(20).to_csv(path, index=False)
    response = api_as("steward").post("/api/v1/scans", {"location": str(path)}, format="json")
    assert response.status_code == 202 and response.data["location"] == str(path)


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403), ("auditor", 403), ("service", 202)])
def test_who_may_start_a_scan(api_as, asset, role, status):
    response = api_as(role).post("/api/v1/scans", {"asset": asset.pk}, format="json")
    assert response.status_code in ({401, 403} if status == 401 else {status})


def test_runs_of_restricted_assets_are_hidden_from_users_without_view_restricted(api_as, users, asset):
    from compliance.scanning import services

    restricted = AssetFactory(location=asset.location, sensitivity="restricted")
    services.scan_start(actor=users["steward"], asset=restricted, dispatch=False)
    visible = services.scan_start(actor=users["steward"], asset=asset, dispatch=False)
    viewer_ids = [r["id"] for r in api_as("viewer").get("/api/v1/scans").data["results"]]
    assert viewer_ids == [visible.pk]
    assert len(api_as("auditor").get("/api/v1/scans").data["results"]) == 2
    hidden = ScanRun.objects.get(asset=restricted)
    assert api_as("viewer").get(f"/api/v1/scans/{hidden.pk}").status_code == 404
    # and a restricted asset cannot be named by someone who cannot see it
    response = api_as("service").post("/api/v1/scans", {"asset": restricted.pk}, format="json")
    assert response.status_code == 400 and "asset" in response.data["error"]["fields"]
