"""The real openlineage-python client, over HTTP, against a live Custos server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset, sql_job
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from accounts.services import token_create, user_ensure
from catalog.models import Classification
from lineage.models import Edge, LineageEvent

PRODUCER = "https://github.com/example-org/pipelines/tree/v1"
NS = "postgres://live-db:5432"


@pytest.fixture
def token(transactional_db):
    from django.db import transaction

    with transaction.atomic():
        service = user_ensure(username="airflow", role="service", actor="test")
        _, raw = token_create(user=service, actor="test", name="airflow")
        user_ensure(username="reader", role="viewer", actor="test")
        _, reader = token_create(user=service.__class__.objects.get(username="reader"), actor="test")
    return raw, reader


def client_for(url: str, api_key: str, *, compression: HttpCompression | None = None) -> OpenLineageClient:
    config = HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": api_key}), compression=compression, timeout=10)
    return OpenLineageClient(transport=HttpTransport(config))


def masked_run(run_id: str, state: RunState) -> RunEvent:
    customers = InputDataset(
        namespace=NS,
        name="crm.customers",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in ("email", "country")]
            )
        },
    )
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
            ),
            "country": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=NS,
                        name="crm.customers",
                        field="country",
                        transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY", masking=False)],
                    )
                ]
            ),
        }
    )
    features = OutputDataset(namespace=NS, name="analytics.features", facets={"columnLineage": lineage})
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id),
        job=Job(
            namespace="airflow://prod",
            name="build_features",
            facets={"sql": sql_job.SQLJobFacet(query="SELECT sha256(email) ...")},
        ),
        inputs=[customers],
        outputs=[features],
        producer=PRODUCER,
    )


def test_the_openlineage_python_client_feeds_custos_over_http(live_server, token):
    api_key, reader_key = token
    run_id = str(uuid.uuid4())

    client_for(live_server.url, api_key).emit(masked_run(run_id, RunState.START))
    client_for(live_server.url, api_key, compression=HttpCompression.GZIP).emit(masked_run(run_id, RunState.COMPLETE))

    assert LineageEvent.objects.count() == 2
    masked = Edge.objects.get(kind="derives", description="", transformation_subtype="TRANSFORMATION")
    assert masked.masking and masked.run.run_id == uuid.UUID(run_id) and masked.run.state == "COMPLETE"
    assert masked.actor == "airflow"

    # Marquez-style read of what was just written, by another token (a viewer).
    response = requests.get(
        f"{live_server.url}/api/v1/lineage",
        params={"nodeId": f"dataset:{NS}:analytics.features", "depth": 2},
        headers={"Authorization": f"Bearer {reader_key}"},
        timeout=10,
    )
    assert response.status_code == 200
    ids = [node["id"] for node in response.json()["graph"]]
    assert ids == [f"dataset:{NS}:analytics.features", f"dataset:{NS}:crm.customers", "job:airflow://prod:build_features"]


def test_a_wrong_token_is_refused_and_the_client_sees_the_error(live_server, token):
    with pytest.raises(requests.HTTPError) as failure:
        client_for(live_server.url, "cst_wrong").emit(masked_run(str(uuid.uuid4()), RunState.START))
    assert failure.value.response.status_code == 401
    assert not Classification.objects.exists() and not LineageEvent.objects.exists()
