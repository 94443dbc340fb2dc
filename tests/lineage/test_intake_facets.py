"""Facets and fields real producers send (issue 14, section 3): symlinks aliases, documentation
-> description, RFC 3339 times, a missing parent runId, the spec's ``lineage`` dataset facet."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from catalog.models import DataAsset
from catalog.services import asset_update
from lineage.choices import EdgeKind, NodeType
from lineage.models import DatasetAlias, DatasetFacets, Edge, Job
from lineage.openlineage import EventInvalid, parse_time, validate_event
from tests.lineage.helpers import dataset, facet, officially_valid, run_event

HIVE = "hive://metastore.internal:9083"
S3 = "s3a://lake-bucket"


@pytest.fixture
def service(make_user):
    client = APIClient()
    client.force_authenticate(make_user("service"))
    return client


def post(client, event):
    return client.post("/api/v1/lineage", event, format="json")


def spark_write(path: str, table: str, *, inputs: list[dict] | None = None) -> dict:
    """What openlineage-spark sends for ``df.write.saveAsTable``: the output named by its storage
    path, with the metastore table as a ``symlinks`` identifier."""
    output = dataset(path, namespace=S3, columns=["order_id", "email"])
    output["facets"]["symlinks"] = facet(identifiers=[{"namespace": HIVE, "name": table, "type": "TABLE"}])
    return run_event("spark_orders.execute_insert_into_hadoop_fs_relation_command", inputs or [], [output])


def test_a_job_writing_a_path_and_one_reading_the_table_meet_on_one_asset(service):
    writer = spark_write("/warehouse/sales/orders", "sales.orders")
    assert officially_valid(writer)
    assert post(service, writer).status_code == 201
    reader = run_event(
        "trino.daily_revenue", [dataset("sales.orders", namespace=HIVE)], [dataset("mart.revenue", namespace=HIVE)]
    )
    assert post(service, reader).status_code == 201

    orders = DataAsset.objects.get(source__namespace=S3, qualified_name="/warehouse/sales/orders")
    assert not DataAsset.objects.filter(qualified_name="sales.orders").exists()
    alias = DatasetAlias.objects.get(namespace=HIVE, name="sales.orders")
    assert alias.asset_id == orders.pk and alias.kind == "TABLE"
    writer_job, reader_job = Job.objects.get(name__startswith="spark_orders"), Job.objects.get(name="trino.daily_revenue")
    assert Edge.objects.filter(kind=EdgeKind.PRODUCES, src_id=writer_job.pk, dst_id=orders.pk).exists()
    assert Edge.objects.filter(kind=EdgeKind.CONSUMES, src_id=orders.pk, dst_id=reader_job.pk).exists()
    summary = AuditEvent.objects.filter(action="lineage.openlineage.ingest").order_by("pk").first().details
    assert summary["aliases_created"] == 1


def test_the_table_read_first_then_written_by_path_is_still_one_asset(service):
    reader = run_event(
        "trino.daily_revenue", [dataset("sales.orders", namespace=HIVE)], [dataset("mart.revenue", namespace=HIVE)]
    )
    assert post(service, reader).status_code == 201
    table = DataAsset.objects.get(source__namespace=HIVE, qualified_name="sales.orders")

    assert post(service, spark_write("/warehouse/sales/orders", "sales.orders")).status_code == 201

    assert not DataAsset.objects.filter(qualified_name="/warehouse/sales/orders").exists()
    assert DatasetAlias.objects.get(namespace=S3, name="/warehouse/sales/orders").asset_id == table.pk
    assert set(table.columns.values_list("name", flat=True)) == {"order_id", "email"}
    job = Job.objects.get(name__startswith="spark_orders")
    assert Edge.objects.filter(kind=EdgeKind.PRODUCES, src_id=job.pk, dst_id=table.pk).exists()


def test_symlinks_between_two_existing_assets_do_not_merge_them(service):
    post(service, run_event("a", [], [dataset("/warehouse/x", namespace=S3)]))
    post(service, run_event("b", [dataset("db.x", namespace=HIVE)], []))

    assert post(service, spark_write("/warehouse/x", "db.x")).status_code == 201

    assert DataAsset.objects.filter(qualified_name__in=["/warehouse/x", "db.x"]).count() == 2
    assert not DatasetAlias.objects.exists()
    assert AuditEvent.objects.filter(action="lineage.openlineage.ingest").order_by("-pk").first().details["alias_conflicts"] == 1


def test_the_documentation_facet_fills_the_description_and_defers_to_a_steward(service, steward):
    def documented(text: str, time: str) -> dict:
        output = dataset("crm.customers", columns=["id"])
        output["facets"]["documentation"] = facet(description=text, contentType="text/markdown")
        return run_event("load_customers", [], [output], time=time)

    event = documented("One row per customer.", "2025-01-15T10:00:00Z")
    assert officially_valid(event)
    assert post(service, event).status_code == 201
    asset = DataAsset.objects.get(qualified_name="crm.customers")
    assert asset.description == "One row per customer."
    assert AuditEvent.objects.filter(action="catalog.asset.update", target_id=str(asset.pk)).exists()

    # the producer's text changes: intake wrote the last one, so it follows
    assert post(service, documented("One row per active customer.", "2025-01-16T10:00:00Z")).status_code == 201
    asset.refresh_from_db()
    assert asset.description == "One row per active customer."

    asset_update(asset=asset, actor=steward, description="Customers of the EU shop (steward).")
    assert post(service, documented("Customers, all regions.", "2025-01-17T10:00:00Z")).status_code == 201
    asset.refresh_from_db()
    holder = DatasetFacets.objects.get(asset=asset)
    assert asset.description == "Customers of the EU shop (steward)."
    assert holder.suggested_description == "Customers, all regions."


@pytest.mark.parametrize("value", ["2025-01-15t10:00:00z", "2025-01-15T10:00:00.123456789z", "2025-01-15t10:00:00+02:00"])
def test_rfc3339_lowercase_t_and_z_are_accepted(service, value):
    event = run_event("t_case", [], [dataset("t.case")], time=value)

    assert post(service, event).status_code == 201
    assert parse_time(value, "x").tzinfo is not None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2025-01-15T10:00:00+0000", "+hh:mm with a colon"),
        ("2025-01-15 10:00:00Z", "separated by T"),
        ("20250115T100000Z", "expected YYYY-MM-DDThh:mm:ss"),
        ("2025-01-15T10:00:00", "with a time-zone offset"),
        ("2025-02-30T10:00:00Z", "out of range"),
    ],
)
def test_what_rfc3339_does_not_allow_is_a_400_that_says_so(service, value, says):
    response = post(service, run_event("t_bad", [], [dataset("t.bad")], time=value))

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("event.eventTime: must be an RFC 3339 date-time") and says in message
    assert value not in message


def test_a_missing_parent_run_id_is_reported_as_missing():
    event = run_event("child", [], [], run_facets={"parent": facet(job={"namespace": "airflow://prod", "name": "dag"}, run={})})
    assert not officially_valid(event)

    with pytest.raises(EventInvalid, match=r"^event\.run\.facets\.parent\.run\.runId: required$"):
        validate_event(event)
    event["run"]["facets"]["parent"]["run"]["runId"] = "not-a-uuid"
    with pytest.raises(EventInvalid, match="must be a UUID"):
        validate_event(event)


def lineage_facet_output() -> dict:
    """A dataset ``lineage`` facet (LineageDatasetFacet, facets/1-0-0/LineageFacet.json) as a
    producer without columnLineage support sends it: field-level sources, a dataset-wide filter
    column, and a whole-dataset source."""
    output = dataset("mart.orders_clean", columns=["order_id", "email_hash", "email"])
    source = {"namespace": "postgres://warehouse:5432", "name": "raw.orders", "type": "DATASET"}
    output["facets"]["lineage"] = facet(
        inputs=[
            source | {"field": "status", "transformations": [{"type": "INDIRECT", "subtype": "FILTER", "masking": False}]},
            {"namespace": "postgres://warehouse:5432", "name": "raw.countries", "type": "DATASET"},
            {"type": "JOB", "namespace": "airflow://prod", "name": "upstream_export"},
        ],
        fields={
            "order_id": {"inputs": [source | {"field": "id", "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]},
            "email_hash": {
                "inputs": [
                    source
                    | {"field": "email", "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}]}
                ]
            },
            "email": {"inputs": [source | {"field": "email"}]},
        },
    )
    return output


def test_the_lineage_dataset_facet_becomes_edges_like_column_lineage(service):
    event = run_event("clean_orders", [dataset("raw.orders", columns=["id", "email", "status"])], [lineage_facet_output()])
    assert officially_valid(event)

    assert post(service, event).status_code == 201

    raw, clean = DataAsset.objects.get(qualified_name="raw.orders"), DataAsset.objects.get(qualified_name="mart.orders_clean")
    col = {(c.asset_id, c.name): c.pk for c in [*raw.columns.all(), *clean.columns.all()]}
    derives = {
        (e.src_id, e.dst_id): e
        for e in Edge.objects.filter(kind=EdgeKind.DERIVES, src_type=NodeType.COLUMN, valid_to__isnull=True)
    }
    identity = derives[(col[raw.pk, "id"], col[clean.pk, "order_id"])]
    assert identity.transformation_subtype == "IDENTITY" and not identity.stops_propagation
    assert derives[(col[raw.pk, "email"], col[clean.pk, "email_hash"])].masking
    # no transformations: DIRECT and unmasked, the safe side (as for columnLineage)
    assert not derives[(col[raw.pk, "email"], col[clean.pk, "email"])].stops_propagation
    # the dataset-wide filter column reaches every output column, INDIRECT
    status_edges = [e for (src, _), e in derives.items() if src == col[raw.pk, "status"]]
    assert len(status_edges) == 3 and all(e.transformation_type == "INDIRECT" for e in status_edges)
    # the whole-dataset source is an input of the job
    job = Job.objects.get(name="clean_orders")
    countries = DataAsset.objects.get(qualified_name="raw.countries")
    assert Edge.objects.filter(kind=EdgeKind.CONSUMES, src_id=countries.pk, dst_id=job.pk).exists()


def test_the_lineage_facet_gives_the_same_edges_in_a_batch(service):
    event = run_event("clean_orders", [dataset("raw.orders", columns=["id", "email", "status"])], [lineage_facet_output()])
    response = service.post("/api/v1/lineage/batch", [event], format="json")

    assert response.status_code == 200, response.content
    assert Edge.objects.filter(kind=EdgeKind.DERIVES).count() == 6  # 3 field edges + 3 from the filter column


def test_a_bad_lineage_facet_input_is_a_400_naming_it(service):
    output = lineage_facet_output()
    output["facets"]["lineage"]["inputs"][0]["type"] = "TABLE"
    response = post(service, run_event("clean_orders", [], [output]))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "event.outputs[0].facets.lineage.inputs[0].type: must be DATASET or JOB"


def test_a_dataset_event_with_a_lineage_facet_adds_column_edges(service):
    event = {
        "eventTime": "2025-01-15T10:00:00Z",
        "producer": "https://github.com/example-org/pipelines/tree/v1",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": lineage_facet_output(),
    }
    assert officially_valid(event)
    assert post(service, event).status_code == 201
    assert Edge.objects.filter(kind=EdgeKind.DERIVES, job__isnull=True).count() == 6
