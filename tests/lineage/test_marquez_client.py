"""Marquez's own Python client (marquez-python 0.50) against a live Custos server at
``/marquez`` (issue 14, section 2): every call of the client, reads and writes, plus the spec's
endpoints the client lacks (search, job versions, run facets, lineage), over real HTTP.

Behaviour is asserted in every case; each answer is also checked against Marquez's OpenAPI
document (``tests.lineage.marquez_spec``), a check that skips, saying why, without the document.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from marquez_client import MarquezClient
from marquez_client.errors import APIError
from marquez_client.models import DatasetType, JobType
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, job_type_job, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from accounts.services import token_create, user_ensure
from audit.models import AuditEvent
from catalog.models import DataAsset, Tag
from tests.lineage import marquez_spec

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
    return {"service": raw, "viewer": reader}


def _emit(live_server, token, events):
    transport = HttpTransport(
        HttpConfig(url=f"{live_server.url}/marquez", auth=ApiKeyTokenProvider({"apiKey": token}), timeout=30)
    )
    client = OpenLineageClient(transport=transport)
    for event in events:
        client.emit(event)


@pytest.fixture
def fed(live_server, tokens):
    """An OpenLineage producer pointed at http://HOST/marquez: one batch job run (START, COMPLETE)
    with schema and column lineage, then a streaming job reading its output."""
    run_id, stream_run = str(uuid.uuid4()), str(uuid.uuid4())
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in ("id", "email")]
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "email_hash": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=NS,
                        name="crm.customers",
                        field="email",
                        transformations=[
                            column_lineage_dataset.Transformation(type="DIRECT", subtype="TRANSFORMATION", masking=True)
                        ],
                    )
                ]
            )
        }
    )
    out_fields = [schema_dataset.SchemaDatasetFacetFields(name="email_hash", type="VARCHAR")]
    inputs = [
        InputDataset(namespace=NS, name="crm.customers", facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)})
    ]
    outputs = [
        OutputDataset(
            namespace=NS,
            name="mart.customers",
            facets={"schema": schema_dataset.SchemaDatasetFacet(fields=out_fields), "columnLineage": lineage},
        )
    ]
    events = [
        RunEvent(
            eventType=state,
            eventTime="2025-03-01T10:00:00Z" if state == RunState.START else "2025-03-01T10:05:00Z",
            run=Run(runId=run_id),
            job=Job(namespace=JOB_NS, name="build_mart"),
            producer=PRODUCER,
            inputs=inputs,
            outputs=outputs,
        )
        for state in (RunState.START, RunState.COMPLETE)
    ]
    streaming = job_type_job.JobTypeJobFacet(processingType="STREAMING", integration="FLINK", jobType="JOB")
    events.append(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2025-03-01T11:00:00Z",
            run=Run(runId=stream_run),
            job=Job(namespace=JOB_NS, name="stream_mart", facets={"jobType": streaming}),
            producer=PRODUCER,
            inputs=[InputDataset(namespace=NS, name="mart.customers")],
            outputs=[OutputDataset(namespace="kafka://broker:9092", name="customers.changes")],
        )
    )
    _emit(live_server, tokens["service"], events)
    return run_id


def client(live_server, token) -> MarquezClient:
    # marquez-python keeps its Authorization header in a module-level dict: build right before use.
    return MarquezClient(url=f"{live_server.url}/marquez", api_key=token)


def http(live_server, token, path, **params):
    response = requests.get(
        f"{live_server.url}/marquez/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.json()


def read_answers(live_server, tokens, run_id) -> dict[str, tuple[object, str]]:
    """Every marquez-python read call (and the spec's reads the client lacks): name -> (answer, schema)."""
    mq = client(live_server, tokens["viewer"])
    versions = mq.list_dataset_versions(NS, "mart.customers")
    job_versions = http(
        live_server, tokens["viewer"], f"/namespaces/{requests.utils.quote(JOB_NS, safe='')}/jobs/build_mart/versions"
    )
    return {
        "list_namespaces": (mq.list_namespaces(), "NamespaceList"),
        "get_namespace": (mq.get_namespace(NS), "Namespace"),
        "list_sources": (mq.list_sources(), "SourceList"),
        "get_source": (mq.get_source(NS), "Source"),
        "list_datasets": (mq.list_datasets(NS), "DatasetList"),
        "get_dataset": (mq.get_dataset(NS, "crm.customers"), "Dataset"),
        "list_dataset_versions": (versions, "DatasetVersionList"),
        "get_dataset_version": (
            mq.get_dataset_version(NS, "mart.customers", versions["versions"][0]["version"]),
            "DatasetVersion",
        ),
        "list_jobs": (mq.list_jobs(JOB_NS), "JobList"),
        "get_job": (mq.get_job(JOB_NS, "build_mart"), "Job"),
        "list_job_runs": (mq.list_job_runs(JOB_NS, "build_mart"), "RunList"),
        "get_job_run": (mq.get_job_run(run_id), "Run"),
        "list_events": (mq.list_events(), "LineageEventList"),
        "list_events(namespace)": (mq.list_events(namespace=JOB_NS), "LineageEventList"),
        "list_tags": (mq.list_tags(), "TagList"),
        "get_column_lineage_by_dataset": (mq.get_column_lineage_by_dataset(NS, "mart.customers"), "LineageGraph"),
        "get_column_lineage_by_dataset_field": (
            mq.get_column_lineage_by_dataset_field(NS, "crm.customers", "email", with_downstream=True),
            "LineageGraph",
        ),
        "get_column_lineage_by_job": (mq.get_column_lineage_by_job(JOB_NS, "build_mart"), "LineageGraph"),
        "GET /search": (http(live_server, tokens["viewer"], "/search", q="customers"), "SearchResultList"),
        "GET /jobs/.../versions": (job_versions, "JobVersionList"),
        "GET /jobs/.../versions/{v}": (
            http(
                live_server,
                tokens["viewer"],
                f"/namespaces/{requests.utils.quote(JOB_NS, safe='')}/jobs/build_mart/versions/{job_versions['versions'][0]['version']}",
            ),
            "JobVersion",
        ),
        "GET /jobs/runs/{id}/facets": (
            http(live_server, tokens["viewer"], f"/jobs/runs/{run_id}/facets", type="job"),
            "FacetsResult",
        ),
        "GET /lineage": (
            http(live_server, tokens["viewer"], "/lineage", nodeId=f"dataset:{NS}:mart.customers", depth=4),
            "LineageGraph",
        ),
    }


def test_every_marquez_python_read_call_answers_what_custos_holds(live_server, tokens, fed):
    answers = {name: answer for name, (answer, _) in read_answers(live_server, tokens, fed).items()}

    assert {n["name"] for n in answers["list_namespaces"]["namespaces"]} >= {NS, JOB_NS, "kafka://broker:9092"}
    assert answers["get_namespace"]["name"] == NS
    assert NS in {s["name"] for s in answers["list_sources"]["sources"]} and answers["get_source"]["name"] == NS
    assert [d["name"] for d in answers["list_datasets"]["datasets"]] == ["crm.customers", "mart.customers"]
    assert answers["get_dataset"]["id"] == {"namespace": NS, "name": "crm.customers"}
    assert [f["name"] for f in answers["get_dataset"]["fields"]] == ["id", "email"]
    (version,) = answers["list_dataset_versions"]["versions"]
    assert version["createdByRun"]["id"] == fed and [f["name"] for f in version["fields"]] == ["email_hash"]
    assert answers["get_dataset_version"]["version"] == version["version"]
    jobs = {j["name"]: j for j in answers["list_jobs"]["jobs"]}
    assert jobs["build_mart"]["inputs"] == [{"namespace": NS, "name": "crm.customers"}]
    assert jobs["build_mart"]["latestRun"]["id"] == fed and jobs["build_mart"]["latestRun"]["state"] == "COMPLETED"
    assert jobs["stream_mart"]["type"] == "STREAM"  # OpenLineage STREAMING is Marquez's STREAM
    assert answers["get_job"]["currentVersion"] == answers["GET /jobs/.../versions"]["versions"][0]["version"]
    (run,) = answers["list_job_runs"]["runs"]
    assert run["id"] == fed and run["durationMs"] == 300_000 and answers["get_job_run"]["state"] == "COMPLETED"
    assert len(answers["list_events"]["events"]) == 3 and len(answers["list_events(namespace)"]["events"]) == 3
    assert isinstance(answers["list_tags"]["tags"], list)
    field_node = f"datasetField:{NS}:mart.customers:email_hash"
    by_dataset = {n["id"]: n for n in answers["get_column_lineage_by_dataset"]["graph"]}
    assert by_dataset[field_node]["type"] == "DATASET_FIELD"
    (source,) = by_dataset[field_node]["data"]["inputFields"]
    assert (source["dataset"], source["field"]) == ("crm.customers", "email")
    assert source["transformations"][0]["masking"] is True
    assert field_node in {n["id"] for n in answers["get_column_lineage_by_dataset_field"]["graph"]}  # withDownstream
    assert field_node in {n["id"] for n in answers["get_column_lineage_by_job"]["graph"]}
    found = {r["nodeId"] for r in answers["GET /search"]["results"]}
    assert found == {
        f"dataset:{NS}:crm.customers",
        f"dataset:{NS}:mart.customers",
        "dataset:kafka://broker:9092:customers.changes",
    }
    assert answers["GET /jobs/runs/{id}/facets"]["runId"] == fed
    lineage = {n["id"]: n for n in answers["GET /lineage"]["graph"]}
    assert lineage[f"job:{JOB_NS}:build_mart"]["data"]["latestRun"]["id"] == fed


def test_every_read_answer_fits_marquez_openapi(live_server, tokens, fed):
    marquez_spec.need_spec()
    for name, (answer, schema) in read_answers(live_server, tokens, fed).items():
        marquez_spec.check(answer, schema, where=name)


def test_the_spec_check_rejects_what_marquez_would_not_send():
    marquez_spec.need_spec()
    job = {"id": {"namespace": "n", "name": "j"}, "type": "STREAMING", "name": "j"}
    with pytest.raises(AssertionError, match="not in the spec's enum"):
        marquez_spec.check(job, "Job")
    with pytest.raises(AssertionError, match="properties not in Marquez's spec"):
        marquez_spec.check({"namespaces": [], "totalCount": 0}, "NamespaceList")
    with pytest.raises(AssertionError, match="required properties missing"):
        marquez_spec.check({"id": {"namespace": "n", "name": "d", "version": "v"}}, "DatasetVersion")


def test_the_writes_marquez_allows_go_through_services_with_audit(live_server, tokens, fed):
    mq = client(live_server, tokens["service"])
    namespace = mq.create_namespace("s3://new-bucket", "data-team", description="landing zone")
    assert namespace["name"] == "s3://new-bucket" and namespace["description"] == "landing zone"
    mq = client(live_server, tokens["service"])
    tag = mq.create_tag("SENSITIVE", description="Contains sensitive information")
    assert tag == {"name": "SENSITIVE", "description": "Contains sensitive information"}
    assert "SENSITIVE" in mq.tag_dataset(NS, "crm.customers", "SENSITIVE")["tags"]
    tagged = mq.tag_dataset_field(NS, "crm.customers", "email", "PII")
    assert {f["name"]: f["tags"] for f in tagged["fields"]}["email"] == ["PII"]
    with pytest.warns(DeprecationWarning):
        created = mq.create_dataset(
            NS,
            "crm.orders",
            DatasetType.DB_TABLE,
            "crm.orders",
            NS,
            description="orders",
            fields=[{"name": "order_id", "type": "INTEGER", "tags": ["KEY"]}],
            tags=["SENSITIVE"],
        )
    assert created["fields"][0] == {"name": "order_id", "type": "INTEGER", "tags": ["KEY"], "description": None}
    assert created["tags"] == ["SENSITIVE"] and created["description"] == "orders"

    assert DataAsset.objects.get(qualified_name="crm.orders").source.namespace == NS
    assert Tag.objects.get(name="SENSITIVE").description == "Contains sensitive information"
    actions = set(AuditEvent.objects.filter(action__startswith="lineage.marquez.").values_list("action", flat=True))
    assert actions == {
        "lineage.marquez.namespace_put",
        "lineage.marquez.tag_put",
        "lineage.marquez.tag",
        "lineage.marquez.dataset_put",
    }
    assert AuditEvent.objects.filter(action="catalog.column.update").exists()  # the field tag, through the catalog service
    spec = marquez_spec.spec_path() and marquez_spec.need_spec()
    if spec:
        for answer, schema in ((namespace, "Namespace"), (tag, "Tag"), (tagged, "Dataset"), (created, "Dataset")):
            marquez_spec.check(answer, schema)


def test_a_viewer_may_not_write_and_nothing_changes(live_server, tokens, fed):
    with pytest.raises(APIError):
        client(live_server, tokens["viewer"]).tag_dataset(NS, "crm.customers", "SENSITIVE")
    with pytest.raises(APIError):
        client(live_server, tokens["viewer"]).create_namespace("s3://x", "me")
    response = requests.put(
        f"{live_server.url}/marquez/api/v1/tags/X", json={}, headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=10
    )
    assert response.status_code == 403
    assert not Tag.objects.filter(name__in=["SENSITIVE", "X"]).exists()
    assert not AuditEvent.objects.filter(action__startswith="lineage.marquez.").exists()


def test_marquez_job_and_run_writes_answer_405_naming_openlineage(live_server, tokens, fed):
    mq = client(live_server, tokens["service"])
    calls = [
        lambda: mq.create_source("pg", "POSTGRESQL", "postgresql://db:5432/x"),
        lambda: mq.create_job(JOB_NS, "manual", JobType.BATCH),
        lambda: mq.create_job_run(JOB_NS, "build_mart"),
        lambda: mq.mark_job_run_as_started(fed),
        lambda: mq.mark_job_run_as_completed(fed),
        lambda: mq.mark_job_run_as_failed(fed),
        lambda: mq.mark_job_run_as_aborted(fed),
    ]
    for call in calls:
        with pytest.warns(DeprecationWarning) if call is not calls[0] else _nothing(), pytest.raises(APIError) as caught:
            call()
        response = caught.value.__cause__.response
        assert response.status_code == 405 and "OpenLineage" in response.json()["error"]["message"]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_missing_dataset_is_an_api_error_for_the_client(live_server, tokens, fed):
    with pytest.raises(APIError):
        client(live_server, tokens["viewer"]).get_dataset(NS, "no.such.table")


def test_the_marquez_api_needs_a_token(live_server, fed):
    response = requests.get(f"{live_server.url}/marquez/api/v1/namespaces", timeout=10)
    assert response.status_code == 401
