"""Marquez's own Python client (marquez-python 0.50) against a live Custos server at
``/marquez`` (issue 14, section 2): every read call answers Marquez's shapes.

With ``MARQUEZ_OPENAPI`` naming Marquez's ``spec/openapi.yml`` (v0.51; not shipped with Custos,
its licence and size keep it out of the repository), each answer is also checked against the
schema it documents: no property the schema does not name, every required one present.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from marquez_client import MarquezClient
from marquez_client.errors import APIError
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from accounts.services import token_create, user_ensure

PRODUCER = "https://github.com/example-org/pipelines/tree/v1"
NS = "postgres://mq-db:5432"
JOB_NS = "airflow://prod"


@pytest.fixture
def tokens(transactional_db):
    from django.db import transaction

    with transaction.atomic():
        service = user_ensure(username="airflow", role="service", actor="test")
        _, raw = token_create(user=service, actor="test", name="airflow")
        viewer = user_ensure(username="reader", role="viewer", actor="test")
        _, reader = token_create(user=viewer, actor="test")
    return raw, reader


@pytest.fixture
def fed(live_server, tokens):
    """An OpenLineage producer pointed at http://HOST/marquez sends one completed run."""
    service_token, _ = tokens
    transport = HttpTransport(HttpConfig(url=f"{live_server.url}/marquez", auth=ApiKeyTokenProvider({"apiKey": service_token})))
    client = OpenLineageClient(transport=transport)
    run_id = str(uuid.uuid4())
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in ("id", "email")]
    inputs = [
        InputDataset(namespace=NS, name="crm.customers", facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)})
    ]
    outputs = [OutputDataset(namespace=NS, name="mart.customers")]
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime="2025-03-01T10:00:00Z" if state == RunState.START else "2025-03-01T10:05:00Z",
                run=Run(runId=run_id),
                job=Job(namespace=JOB_NS, name="build_mart"),
                producer=PRODUCER,
                inputs=inputs,
                outputs=outputs,
            )
        )
    return run_id


@pytest.fixture
def marquez(live_server, tokens):
    _, reader = tokens
    return MarquezClient(url=f"{live_server.url}/marquez", api_key=reader)


def _spec():
    path = os.environ.get("MARQUEZ_OPENAPI")
    if not path:
        return None
    import yaml

    return yaml.safe_load(Path(path).read_text())


def _conforms(value, schema_name: str, spec) -> None:
    if spec is None:
        return
    schema = spec["components"]["schemas"][schema_name]
    names: set[str] = set(schema.get("properties", {}))
    for part in schema.get("anyOf", []) + schema.get("allOf", []):
        ref = part.get("$ref")
        sub = spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else part
        names |= set(sub.get("properties", {}))
    extra = set(value) - names
    assert not extra, f"{schema_name}: properties not in Marquez's spec: {sorted(extra)}"
    missing = set(schema.get("required", [])) - set(value)
    assert not missing, f"{schema_name}: required properties missing: {sorted(missing)}"


def test_every_marquez_python_read_call_answers_marquez_shapes(fed, marquez):
    spec = _spec()
    namespaces = marquez.list_namespaces()["namespaces"]
    assert {n["name"] for n in namespaces} >= {NS, JOB_NS}
    for item in namespaces:
        _conforms(item, "Namespace", spec)
    _conforms(marquez.get_namespace(NS), "Namespace", spec)

    sources = marquez.list_sources()["sources"]
    assert NS in {s["name"] for s in sources}
    _conforms(marquez.get_source(NS), "Source", spec)

    datasets = marquez.list_datasets(NS)["datasets"]
    assert [d["name"] for d in datasets] == ["crm.customers", "mart.customers"]
    dataset = marquez.get_dataset(NS, "crm.customers")
    assert [f["name"] for f in dataset["fields"]] == ["id", "email"]
    assert dataset["id"] == {"namespace": NS, "name": "crm.customers"}
    _conforms(dataset, "Dataset", spec)

    (job,) = marquez.list_jobs(JOB_NS)["jobs"]
    assert job["inputs"] == [{"namespace": NS, "name": "crm.customers"}]
    assert job["outputs"] == [{"namespace": NS, "name": "mart.customers"}]
    assert job["latestRun"]["id"] == fed and job["latestRun"]["state"] == "COMPLETED"
    _conforms(marquez.get_job(JOB_NS, "build_mart"), "Job", spec)

    (run,) = marquez.list_job_runs(JOB_NS, "build_mart")["runs"]
    assert run["id"] == fed and run["durationMs"] == 300_000
    assert marquez.get_job_run(fed)["state"] == "COMPLETED"

    assert len(marquez.list_events()["events"]) == 2
    assert len(marquez.list_events(namespace=JOB_NS)["events"]) == 2
    assert isinstance(marquez.list_tags()["tags"], list)


def test_a_missing_dataset_is_an_api_error_for_the_client(fed, marquez):
    with pytest.raises(APIError):
        marquez.get_dataset(NS, "no.such.table")


def test_the_marquez_api_needs_a_token(live_server, fed):
    with pytest.raises(APIError):
        MarquezClient(url=f"{live_server.url}/marquez").list_namespaces()
