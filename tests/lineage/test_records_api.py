"""Custos's own read endpoints for jobs, runs and raw OpenLineage events (issue 14, section 2):
filters by namespace, job, state and time; scoping by restrict() for users without view_restricted."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.choices import Sensitivity
from catalog.models import DataAsset
from lineage.models import Job
from tests.lineage.helpers import dataset, run_event


@pytest.fixture
def fed(make_user):
    client = APIClient()
    client.force_authenticate(make_user("service"))
    events = [
        run_event("load_crm", [], [dataset("crm.customers")], event_type="START", run_id="11111111-1111-4111-8111-111111111111"),
        run_event(
            "load_crm", [], [dataset("crm.customers")], run_id="11111111-1111-4111-8111-111111111111", time="2025-01-15T10:05:00Z"
        ),
        run_event("load_hr", [], [dataset("hr.salaries")], event_type="FAIL", time="2025-02-01T08:00:00Z"),
    ]
    events[2]["job"]["namespace"] = "dagster://hr"
    for event in events:
        assert client.post("/api/v1/lineage", event, format="json").status_code == 201
    dataset_event = {
        "eventTime": "2025-02-02T08:00:00Z",
        "producer": "https://github.com/example-org/pipelines/tree/v1",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": dataset("hr.salaries", columns=["employee_id", "salary"]),
    }
    assert client.post("/api/v1/lineage", dataset_event, format="json").status_code == 201
    DataAsset.objects.filter(qualified_name="hr.salaries").update(sensitivity=Sensitivity.RESTRICTED)


def rows(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_jobs_runs_and_events_are_listed_and_filtered(api_as, fed):
    steward = api_as("steward")

    assert {j["name"] for j in rows(steward, "/api/v1/lineage/jobs")} == {"load_crm", "load_hr"}
    assert [j["name"] for j in rows(steward, "/api/v1/lineage/jobs", namespace="dagster://hr")] == ["load_hr"]
    (crm_run,) = rows(steward, "/api/v1/lineage/runs", job="load_crm")
    assert crm_run["state"] == "COMPLETE" and crm_run["job_namespace"] == "airflow://prod"
    assert [r["job_name"] for r in rows(steward, "/api/v1/lineage/runs", state="FAIL")] == ["load_hr"]
    assert [r["job_name"] for r in rows(steward, "/api/v1/lineage/runs", since="2025-01-20T00:00:00Z")] == ["load_hr"]
    events = rows(steward, "/api/v1/lineage/events", namespace="airflow://prod", job="load_crm")
    assert sorted(e["event_type"] for e in events) == ["COMPLETE", "START"]
    assert len(rows(steward, "/api/v1/lineage/events", until="2025-01-15T10:01:00Z")) == 1
    assert [e["kind"] for e in rows(steward, "/api/v1/lineage/events", kind="dataset")] == ["dataset"]
    assert rows(steward, "/api/v1/lineage/events", state="START")[0]["payload"]["eventType"] == "START"
    detail = steward.get(f"/api/v1/lineage/runs/{crm_run['id']}")
    assert detail.status_code == 200 and detail.json()["run_id"] == crm_run["run_id"]


def test_a_viewer_does_not_see_jobs_runs_or_events_that_name_a_restricted_asset(api_as, fed):
    viewer = api_as("viewer")
    hr = Job.objects.get(name="load_hr")

    assert [j["name"] for j in rows(viewer, "/api/v1/lineage/jobs")] == ["load_crm"]
    assert {r["job_name"] for r in rows(viewer, "/api/v1/lineage/runs")} == {"load_crm"}
    events = rows(viewer, "/api/v1/lineage/events")
    assert {e["job_name"] for e in events} == {"load_crm"} and all(e["kind"] == "run" for e in events)
    assert viewer.get(f"/api/v1/lineage/jobs/{hr.pk}").status_code == 404
    # the Marquez API uses the same scoping
    marquez = viewer.get("/marquez/api/v1/events/lineage").json()
    assert {e["job"]["name"] for e in marquez["events"] if "job" in e} == {"load_crm"} and marquez["totalCount"] == 2
    assert viewer.get("/marquez/api/v1/namespaces/dagster%3A%2F%2Fhr/jobs/load_hr").status_code == 404


def test_the_restricted_rows_stay_visible_to_roles_that_may_see_them(api_as, fed):
    for role in ("steward", "auditor", "admin"):
        assert len(rows(api_as(role), "/api/v1/lineage/events")) == 4, role


@pytest.mark.parametrize("value", ["2025-01-15 10:00:00Z", "yesterday", "2025-01-15T10:00:00+0000"])
def test_a_time_filter_that_is_not_rfc3339_is_a_400(api_as, fed, value):
    response = api_as("viewer").get("/api/v1/lineage/runs", {"since": value})

    assert response.status_code == 400
    assert "RFC 3339" in str(response.json())


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/lineage/events").status_code == 401
