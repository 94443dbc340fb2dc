"""The monitoring REST API as steward, auditor, service and viewer: scoping, writes through services,
the alert actions, the error shape, and the OpenAPI schema."""

from __future__ import annotations

import io

import pytest

from audit.models import AuditEvent
from catalog.choices import Sensitivity
from monitoring.models import Alert, LoggedBatch
from tests.factories import AssetFactory
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db
BASE = "/api/v1/monitoring"
FEATURES = ["age", "income", "region", "score"]


def _rows(n, **kw):
    return make_frame(n, **kw).to_dict(orient="records")


@pytest.fixture
def monitor(api_as, version, reference_asset):
    r = api_as("steward").post(
        f"{BASE}/monitors",
        {"model_version": version.pk, "name": "inputs", "reference_asset": reference_asset.pk, "columns": FEATURES},
        format="json",
    )
    assert r.status_code == 201, r.json()
    return r.json()


def test_a_steward_creates_a_monitor_and_a_viewer_or_auditor_may_not(api_as, version, reference_asset):
    body = {"model_version": version.pk, "name": "m", "reference_asset": reference_asset.pk}
    for role in ("viewer", "auditor"):
        assert api_as(role).post(f"{BASE}/monitors", body, format="json").status_code == 403
    r = api_as("steward").post(f"{BASE}/monitors", {**body, "drift_options": {"method": "nope"}}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    r = api_as("steward").post(f"{BASE}/monitors", body, format="json")
    assert r.status_code == 201 and r.json()["schedule_minutes"] == 60


def test_a_service_logs_json_rows_and_a_csv_upload_and_runs_the_monitor(api_as, monitor, version):
    service = api_as("service")
    r = service.post(f"{BASE}/batches", {"model_version": version.pk, "rows": _rows(800, seed=3, shift=0.6)}, format="json")
    assert r.status_code == 201 and r.json()["rows"] == 800
    csv = make_frame(700, seed=4, shift=0.6).to_csv(index=False).encode()
    upload = io.BytesIO(csv)
    upload.name = "batch.csv"
    r = service.post(f"{BASE}/batches", {"model_version": version.pk, "file": upload}, format="multipart")
    assert r.status_code == 201, r.json()
    assert LoggedBatch.objects.get(pk=r.json()["id"]).source == "upload"
    r = service.post(f"{BASE}/monitors/{monitor['id']}/run", {}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "succeeded" and r.json()["rows"] == 1500
    run_id = r.json()["id"]
    results = api_as("viewer").get(f"{BASE}/results", {"run": run_id, "kind": "drift"}).json()["results"]
    assert {x["name"] for x in results} == set(FEATURES)
    age = next(x for x in results if x["name"] == "age")
    assert age["method"] == "wasserstein" and age["flagged"] and age["details"]["n_cur"] == 1500
    assert api_as("auditor").get(f"{BASE}/runs/{run_id}").json()["dataset_drift"] is not None
    # nothing new: a second run is a 400 in the error shape
    r = service.post(f"{BASE}/monitors/{monitor['id']}/run", {}, format="json")
    assert r.status_code == 400 and "no logged predictions" in str(r.json()["error"])


def test_alerts_are_acknowledged_with_a_reason_by_a_steward_not_by_an_auditor_or_viewer(api_as, monitor, version):
    api_as("service").post(f"{BASE}/batches", {"model_version": version.pk, "rows": _rows(900, seed=3, shift=0.6)}, format="json")
    api_as("service").post(f"{BASE}/monitors/{monitor['id']}/run", {}, format="json")
    alerts = api_as("viewer").get(f"{BASE}/alerts", {"state": "open"}).json()["results"]
    alert = next(a for a in alerts if a["subject"] == "age")
    url = f"{BASE}/alerts/{alert['id']}/acknowledge"
    for role in ("viewer", "auditor"):
        assert api_as(role).post(url, {"reason": "seen"}, format="json").status_code == 403
    r = api_as("steward").post(url, {}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = api_as("steward").post(url, {"reason": "known campaign"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledge_reason"] == "known campaign"
    assert api_as("steward").post(url, {"reason": "again"}, format="json").status_code == 400
    r = api_as("service").post(f"{BASE}/alerts/{alert['id']}/resolve", {"reason": "retrained"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    assert AuditEvent.objects.filter(action__in=["monitoring.alert_acknowledge", "monitoring.alert_resolve"]).count() == 2


def test_monitors_of_a_model_trained_on_restricted_data_are_404_for_viewers_and_services(api_as, monitor, version):
    version.training_datasets.add(AssetFactory(sensitivity=Sensitivity.RESTRICTED))
    for role in ("viewer", "service"):
        assert api_as(role).get(f"{BASE}/monitors").json()["count"] == 0
        assert api_as(role).get(f"{BASE}/monitors/{monitor['id']}").status_code == 404
    assert api_as("viewer").post(f"{BASE}/monitors/{monitor['id']}/run", {}, format="json").status_code == 403  # no add
    assert api_as("service").post(f"{BASE}/monitors/{monitor['id']}/run", {}, format="json").status_code == 404
    for role in ("auditor", "steward"):
        assert api_as(role).get(f"{BASE}/monitors/{monitor['id']}").status_code == 200
    r = api_as("service").post(f"{BASE}/batches", {"model_version": version.pk, "rows": _rows(5, seed=2)}, format="json")
    assert r.status_code == 400 and "no such model version" in str(r.json())
    assert not Alert.objects.exists()


def test_labels_batches_need_the_id_and_label_columns(api_as, version, roots):
    r = api_as("service").post(
        f"{BASE}/batches", {"model_version": version.pk, "kind": "labels", "rows": [{"x": 1}]}, format="json"
    )
    assert r.status_code == 400 and "prediction_id" in str(r.json())
    r = api_as("service").post(
        f"{BASE}/batches",
        {"model_version": version.pk, "kind": "labels", "rows": [{"prediction_id": "a", "label": 1, "extra": 5}]},
        format="json",
    )
    assert r.status_code == 201 and r.json()["columns"] == ["prediction_id", "label"]


def test_the_monitoring_endpoints_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/monitors",
        "/monitors/{id}",
        "/monitors/{id}/run",
        "/reference-profiles",
        "/batches",
        "/runs",
        "/results",
        "/alerts",
        "/alerts/{id}/acknowledge",
        "/alerts/{id}/resolve",
    ):
        full = f"/api/v1/monitoring{path}"
        assert full in paths or f"{full}/" in paths, path


def test_a_reference_profile_from_a_window_of_production_batches(api_as, version, roots):
    service = api_as("service")
    ids = [
        service.post(f"{BASE}/batches", {"model_version": version.pk, "rows": _rows(400, seed=s)}, format="json").json()["id"]
        for s in (71, 72)
    ]
    r = api_as("steward").post(
        f"{BASE}/reference-profiles",
        {"model_version": version.pk, "name": "week 1", "batches": ids, "columns": FEATURES},
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["rows"] == 800 and r.json()["columns"] == FEATURES and r.json()["source_label"].startswith("batches ")
    r = api_as("steward").post(
        f"{BASE}/reference-profiles", {"model_version": version.pk, "name": "x", "batches": [ids[0] + 999]}, format="json"
    )
    assert r.status_code == 404
