"""OpenLineage intake through the API: registration, facets, idempotency, validation, batches."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from catalog.models import Classification, Column, DataAsset, ModelVersion
from lineage.choices import EdgeKind
from lineage.models import DatasetFacets, Edge, Job, LineageEvent, Run
from lineage.openlineage import parse_time
from tests.lineage.helpers import NS, dataset, example, facet, officially_valid, run_event


@pytest.fixture
def service(make_user):
    client = APIClient()
    client.force_authenticate(make_user("service"))
    return client


def post(client, event, **extra):
    return client.post("/api/v1/lineage", event, format="json", **extra)


def test_it_registers_datasets_columns_jobs_and_edges_from_the_spec_example(service):
    response = post(service, example("example_run_complete.json"))

    assert response.status_code == 201, response.content
    customers = DataAsset.objects.get(source__namespace="postgres://db.internal:5432", qualified_name="crm.public.customers")
    features = DataAsset.objects.get(qualified_name="crm.analytics.customer_features")
    assert set(customers.columns.values_list("name", flat=True)) == {"id", "email", "country", "active"}
    assert customers.columns.get(name="email").data_type == "VARCHAR"
    job = Job.objects.get(name="customer_etl.build_customer_features")
    assert job.parent.name == "customer_etl" and "INSERT INTO" in job.sql
    run = Run.objects.get(run_id="0194691c-6a3e-7c2b-9f0e-3c1d2a4b5e6f")
    assert run.state == "COMPLETE" and run.parent_run_id is not None and "INSERT INTO" in run.sql
    assert Edge.objects.filter(kind=EdgeKind.CONSUMES, src_id=customers.pk, dst_id=job.pk, run=run).exists()
    assert Edge.objects.filter(kind=EdgeKind.PRODUCES, src_id=job.pk, dst_id=features.pk).exists()
    # (each output column also has the example's dataset-wide INDIRECT edge from customers.active)
    email_hash = Edge.objects.get(
        kind=EdgeKind.DERIVES, dst_id=features.columns.get(name="email_hash").pk, transformation_type="DIRECT"
    )
    assert (
        email_hash.masking and email_hash.transformation_subtype == "TRANSFORMATION" and email_hash.description == "sha256(email)"
    )
    identity = Edge.objects.get(
        kind=EdgeKind.DERIVES, dst_id=features.columns.get(name="customer_id").pk, transformation_type="DIRECT"
    )
    assert not identity.masking and identity.transformation_subtype == "IDENTITY"
    # The pii tag became an imported classification; the output-statistics facet was kept.
    assert Classification.objects.filter(column__name="email", source="imported", entity_type="EMAIL_ADDRESS").exists()
    assert LineageEvent.objects.get().payload["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 12000
    assert AuditEvent.objects.filter(action="lineage.openlineage.ingest").count() == 1


def test_the_same_event_twice_is_merged_once(service):
    event = example("example_run_complete.json")
    assert post(service, event).status_code == 201
    edges = Edge.objects.count()

    again = post(service, copy.deepcopy(event))

    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert LineageEvent.objects.count() == 1 and Edge.objects.count() == edges
    assert AuditEvent.objects.filter(action="lineage.openlineage.ingest").count() == 1


def test_events_out_of_order_end_in_the_same_state(service):
    complete = example("example_run_complete.json")
    start = example("example_run_start_minimal.json")
    assert post(service, complete).status_code == 201
    assert post(service, start).status_code == 201

    run = Run.objects.get()
    assert run.state == "COMPLETE"
    assert run.started_at.isoformat().startswith("2025-01-15T10:30:00")
    assert run.ended_at.isoformat().startswith("2025-01-15T10:32:05")
    assert Edge.objects.filter(valid_to__isnull=True, kind=EdgeKind.CONSUMES).count() == 1
    assert Edge.objects.get(kind=EdgeKind.CONSUMES).valid_from.isoformat().startswith("2025-01-15T10:30:00")


def test_a_newer_run_without_an_input_closes_that_edge_and_keeps_its_history(service):
    a, b, out = dataset("s.a"), dataset("s.b"), dataset("s.out")
    assert post(service, run_event("job", [a, b], [out], time="2025-01-01T00:00:00Z")).status_code == 201
    assert post(service, run_event("job", [a], [out], time="2025-02-01T00:00:00Z")).status_code == 201
    # A late event from before the change must not reopen it.
    assert post(service, run_event("job", [a, b], [out], time="2025-01-15T00:00:00Z")).status_code == 201

    b_id = DataAsset.objects.get(qualified_name="s.b").pk
    edge = Edge.objects.get(kind=EdgeKind.CONSUMES, src_id=b_id)
    assert edge.valid_to is not None and edge.valid_to.isoformat().startswith("2025-02-01")
    assert Edge.objects.filter(kind=EdgeKind.CONSUMES, valid_to__isnull=True).count() == 1


def test_unknown_facets_are_kept_and_ownership_and_tags_applied(service, make_user):
    alice = make_user("steward", username="alice")
    out = dataset(
        "s.people",
        columns=["name", "email"],
        ownership=facet(owners=[{"name": "user:alice", "type": "MAINTAINER"}, {"name": "team:unknown"}]),
        tags=facet(
            tags=[{"key": "domain", "value": "crm", "source": "MANUAL"}, {"key": "pii", "value": "PERSON", "field": "name"}]
        ),
        myCompany_quality=facet(score=0.97),
    )
    assert post(service, run_event("load_people", [], [out])).status_code == 201

    asset = DataAsset.objects.get(qualified_name="s.people")
    assert list(asset.owners.all()) == [alice]
    assert list(asset.tags.values_list("name", flat=True)) == ["domain:crm"]
    assert DatasetFacets.objects.get(asset=asset).facets["myCompany_quality"]["score"] == 0.97
    assert Classification.objects.get(column__name="name").entity_type == "PERSON"


def test_gzip_bodies_are_accepted(service):
    body = gzip.compress(json.dumps(example("example_run_complete.json")).encode())
    response = service.generic("POST", "/api/v1/lineage", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 201, response.content
    assert Run.objects.count() == 1


def test_a_corrupt_gzip_body_is_a_400(service):
    response = service.generic(
        "POST", "/api/v1/lineage", b"not gzip", content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 400
    assert "gzip" in response.json()["error"]["message"]


def test_dataset_and_job_events_are_accepted(service):
    dataset_event = {
        "eventTime": "2025-01-15T10:00:00Z",
        "producer": "https://example.org/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": dataset("s.static", columns=["a", "b"]),
    }
    job_event = {
        "eventTime": "2025-01-15T10:00:00Z",
        "producer": "https://example.org/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow://prod", "name": "static_job"},
        "inputs": [dataset("s.static")],
        "outputs": [dataset("s.derived")],
    }
    assert officially_valid(dataset_event) and officially_valid(job_event)
    assert post(service, dataset_event).status_code == 201
    assert post(service, job_event).status_code == 201
    assert set(Column.objects.filter(asset__qualified_name="s.static").values_list("name", flat=True)) == {"a", "b"}
    assert Edge.objects.filter(kind=EdgeKind.PRODUCES, job__name="static_job", run__isnull=True).exists()


def _mutations():
    base = run_event("j", [dataset("s.in", columns=["x"])], [dataset("s.out", lineage={"y": [("s.in", "x", False, "IDENTITY")]})])

    def mutate(fn):
        event = copy.deepcopy(base)
        fn(event)
        return event

    return {
        "valid": (base, None),
        "unknown facet kept": (mutate(lambda e: e["run"]["facets"].update(custom=facet(anything=[1, 2]))), None),
        "no eventTime": (mutate(lambda e: e.pop("eventTime")), "event.eventTime: required"),
        "no producer": (mutate(lambda e: e.pop("producer")), "event.producer: required"),
        "runId not a uuid": (mutate(lambda e: e["run"].update(runId="run-1")), "event.run.runId: must be a UUID"),
        "bad eventType": (mutate(lambda e: e.update(eventType="DONE")), "event.eventType: must be one of"),
        "job without name": (mutate(lambda e: e["job"].pop("name")), "event.job.name: required"),
        "inputs not an array": (mutate(lambda e: e.update(inputs={})), "event.inputs: must be an array"),
        "dataset without namespace": (mutate(lambda e: e["outputs"][0].pop("namespace")), "event.outputs[0].namespace: required"),
        "facet without _producer": (
            mutate(lambda e: e["inputs"][0]["facets"]["schema"].pop("_producer")),
            "event.inputs[0].facets.schema._producer: required",
        ),
        "input field without field": (
            mutate(lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["y"]["inputFields"][0].pop("field")),
            "event.outputs[0].facets.columnLineage.fields.y.inputFields[0].field: required",
        ),
        "masking not a boolean": (
            mutate(
                lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["y"]["inputFields"][0]["transformations"][
                    0
                ].update(masking="yes")
            ),
            "masking: must be a boolean",
        ),
        "schema fields not an array": (
            mutate(lambda e: e["inputs"][0]["facets"]["schema"].update(fields={"x": "int"})),
            "event.inputs[0].facets.schema.fields: must be an array",
        ),
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_validation_agrees_with_the_official_json_schema_and_names_the_problem(service, case):
    event, problem = _mutations()[case]
    assert officially_valid(event) is (problem is None)

    response = post(service, event)

    if problem is None:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid" and problem in error["message"]
        assert LineageEvent.objects.count() == 0


def test_event_time_without_offset_is_rejected(service):
    event = run_event("j", [], [], time="2025-01-15T10:00:00")
    response = post(service, event)
    assert response.status_code == 400 and "event.eventTime" in response.json()["error"]["message"]


def test_one_bad_event_in_a_batch_does_not_lose_the_others(service):
    good1 = run_event("j1", [dataset("s.a")], [dataset("s.b")])
    bad = run_event("j2", [], [])
    bad["run"]["runId"] = "nope"
    good2 = run_event("j3", [dataset("s.b")], [dataset("s.c")])

    response = service.post("/api/v1/lineage/batch", [good1, bad, good2], format="json")

    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 1
    assert body["results"][1] == {"index": 1, "status": "invalid", "error": "event.run.runId: must be a UUID"}
    assert Run.objects.count() == 2
    (audit,) = AuditEvent.objects.filter(action="lineage.openlineage.ingest_batch")
    assert [e["event_id"] for e in audit.details["events"]] == [body["results"][0]["event_id"], body["results"][2]["event_id"]]
    assert audit.details["invalid"] == 1


def test_a_batch_repeating_an_event_applies_it_once(service):
    event = run_event("j1", [dataset("s.a")], [dataset("s.b")])
    response = service.post("/api/v1/lineage/batch", [event, event], format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["applied", "duplicate"]
    assert LineageEvent.objects.count() == 1


def test_a_batch_of_only_bad_events_is_a_400(service):
    response = service.post("/api/v1/lineage/batch", [{"eventTime": "x"}], format="json")
    assert response.status_code == 400 and response.json()["rejected"] == 1


def test_a_run_whose_output_is_a_model_links_the_model_version(service):
    model_output = {
        "namespace": "mlflow://registry",
        "name": "churn/3",
        "facets": {"custosModel": facet(model="churn", version="3", stage="production")},
    }
    assert post(service, run_event("train_churn", [dataset("s.features")], [model_output])).status_code == 201

    version = ModelVersion.objects.get(model__name="churn", version="3")
    assert version.stage == "production"
    assert list(version.training_datasets.values_list("qualified_name", flat=True)) == ["s.features"]
    assert Edge.objects.filter(kind=EdgeKind.TRAINED_ON, dst_id=version.pk, valid_to__isnull=True, run__isnull=False).exists()
    assert not DataAsset.objects.filter(qualified_name="churn/3").exists()


@pytest.mark.parametrize("role,expected", [(None, 401), ("viewer", 403), ("auditor", 403), ("service", 201)])
def test_only_writers_may_post_events(api_as, role, expected):
    response = post(api_as(role), run_event("j", [], [dataset("s.x", namespace=NS)]))
    assert response.status_code == expected


def test_the_spec_example_yields_the_filter_edge_from_active_to_each_output_column(service):
    event = example("example_run_complete.json")

    assert post(service, event).status_code == 201

    active = Column.objects.get(asset__qualified_name="crm.public.customers", name="active")
    features = DataAsset.objects.get(qualified_name="crm.analytics.customer_features")
    run = Run.objects.get(run_id=event["run"]["runId"])
    edges = Edge.objects.filter(kind=EdgeKind.DERIVES, src_id=active.pk, valid_to__isnull=True)
    assert {e.dst_id for e in edges} == set(features.columns.values_list("pk", flat=True))
    assert set(features.columns.values_list("name", flat=True)) == {"customer_id", "email_hash", "country"}
    for edge in edges:
        assert (edge.transformation_type, edge.transformation_subtype, edge.description) == ("INDIRECT", "FILTER", "WHERE active")
        assert not edge.masking and edge.stops_propagation
        assert edge.run == run and edge.job == run.job and edge.producer == event["producer"]


def _wide_output(**extra) -> dict:
    out = dataset(
        "s.active_people",
        columns=["id", "email", "signup"],
        lineage={"id": [("s.people", "id", False, "IDENTITY")]},
        wide=[("s.people", "active", "FILTER"), ("s.accounts", "tier", "JOIN")],
        **extra,
    )
    # Two transformations on one dataset-wide input: the first describes the edge, all are kept.
    out["facets"]["columnLineage"]["dataset"][1]["transformations"].append(
        {"type": "INDIRECT", "subtype": "SORT", "description": "ORDER BY tier", "masking": False}
    )
    return out


def test_dataset_wide_inputs_become_indirect_edges_merged_idempotently_and_closed_when_dropped(service):
    from lineage.graph import build

    src = dataset("s.people", columns=["id", "email", "active"])
    first = run_event("people", [src], [_wide_output()], time="2025-01-01T00:00:00Z")
    assert post(service, first).status_code == 201

    outputs = {c.name: c.pk for c in Column.objects.filter(asset__qualified_name="s.active_people")}
    assert set(outputs) == {"id", "email", "signup"}
    active = Column.objects.get(asset__qualified_name="s.people", name="active")
    tier = Column.objects.get(asset__qualified_name="s.accounts", name="tier")  # unknown dataset: registered
    wide = Edge.objects.filter(kind=EdgeKind.DERIVES, src_id__in=[active.pk, tier.pk])
    assert sorted((e.src_id, e.dst_id) for e in wide) == sorted((s, d) for s in (active.pk, tier.pk) for d in outputs.values())
    run = Run.objects.get(run_id=first["run"]["runId"])
    for edge in wide:
        assert edge.transformation_type == "INDIRECT" and edge.run == run and edge.last_run == run
        assert edge.job.name == "people" and edge.producer == first["producer"] and not edge.masking
    filtered = wide.filter(src_id=active.pk).first()
    assert (filtered.transformation_subtype, filtered.description, filtered.details) == ("FILTER", "FILTER active", {})
    joined = wide.filter(src_id=tier.pk).first()
    assert joined.transformation_subtype == "JOIN"
    assert [t["subtype"] for t in joined.transformations] == ["JOIN", "SORT"]
    # The field-level edge of id is untouched by the dataset-wide inputs.
    identity = Edge.objects.get(kind=EdgeKind.DERIVES, dst_id=outputs["id"], transformation_type="DIRECT")
    assert identity.transformation_subtype == "IDENTITY"

    # A second run saying the same: merged, nothing new.
    edges = Edge.objects.count()
    second = run_event("people", [src], [_wide_output()], time="2025-01-02T00:00:00Z")
    assert post(service, second).status_code == 201
    assert Edge.objects.count() == edges
    assert {e.last_run.run_id for e in wide.all()} == {run_event_id(second)}

    # A later run without the dataset-wide inputs closes their edges and keeps their history.
    narrower = dataset(
        "s.active_people", columns=["id", "email", "signup"], lineage={"id": [("s.people", "id", False, "IDENTITY")]}
    )
    assert post(service, run_event("people", [src], [narrower], time="2025-01-03T00:00:00Z")).status_code == 201
    assert wide.filter(valid_to__isnull=True).count() == 0
    assert {e.valid_to.isoformat()[:10] for e in wide.all()} == {"2025-01-03"}
    assert Edge.objects.get(pk=identity.pk).valid_to is None
    between = build(parse_time("2025-01-02T12:00:00Z", "at")).columns
    assert between.has_edge(f"column:{active.pk}", f"column:{outputs['signup']}")
    assert not build().columns.has_edge(f"column:{active.pk}", f"column:{outputs['signup']}")


def run_event_id(event: dict):
    import uuid

    return uuid.UUID(event["run"]["runId"])
