"""Evidence as of a past date comes from history, not from today's rows: change things after D and
the D export still shows what held at D."""

from __future__ import annotations

import json
import time
import zipfile

import pytest
from django.utils import timezone

from catalog import services as catalog
from catalog.models import DataAsset, ModelVersion
from compliance.evidence import services, verify_bundle
from compliance.policies.services import policy_evaluate
from lineage.services import model_version_link

pytestmark = pytest.mark.django_db


def evidence(path, name: str) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(f"evidence/{name}.json"))


def graph(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("lineage/graph.json"))


def export(**kwargs):
    row = services.export_request(actor="tests", run_async=False, **kwargs)
    return services.export_build(export_id=row.pk)


@pytest.fixture
def estate(ledger_key, users):
    steward = users["steward"]
    source = catalog.source_create(actor=steward, name="crm", kind="postgresql", namespace="postgres://crm:5432")
    asset = catalog.asset_register(actor=steward, source=source, qualified_name="public.customers", processing_purposes=[])
    catalog.asset_set_owners(asset=asset, owners=[steward], actor=steward)
    email = catalog.column_create(actor=steward, asset=asset, name="email", data_type="text")
    catalog.classification_assign(column=email, entity_type="EMAIL_ADDRESS", actor=steward)
    model = catalog.model_create(actor=steward, name="churn")
    version = catalog.model_version_register(actor=steward, model=model, version="1.0", training_datasets=[asset])
    model_version_link(model_version=version, actor=steward)
    policy_evaluate(actor="tests", asset=asset)
    return {"steward": steward, "asset": asset, "version": version, "admin": users["admin"]}


def test_the_export_at_d_shows_the_state_at_d_after_later_changes(estate):
    steward, asset, version = estate["steward"], estate["asset"], estate["version"]
    time.sleep(0.02)
    d = timezone.now()
    time.sleep(0.02)
    # After D: a lawful basis and purpose are recorded, a phone column is classified, the model
    # is retrained without the table, and the re-evaluation resolves the lawful-basis finding.
    catalog.asset_update(asset=asset, actor=steward, legal_basis="contract", processing_purposes=["Billing"])
    catalog.asset_set_owners(asset=DataAsset.objects.get(pk=asset.pk), owners=[estate["admin"]], actor=steward)
    phone = catalog.column_create(actor=steward, asset=asset, name="phone", data_type="text")
    catalog.classification_assign(column=phone, entity_type="PHONE_NUMBER", actor=steward)
    catalog.model_version_update(model_version=ModelVersion.objects.get(pk=version.pk), actor=steward, training_datasets=[])
    model_version_link(model_version=ModelVersion.objects.get(pk=version.pk), actor=steward)
    policy_evaluate(actor="tests", asset=asset)

    then = export(period_to=d)
    now = export()
    assert then.status == now.status == "succeeded"
    assert then.end_seq < now.end_seq and then.as_of == d

    old_inventory, new_inventory = evidence(then.file_path, "inventory"), evidence(now.file_path, "inventory")
    assert [c["name"] for c in old_inventory["assets"][0]["columns"]] == ["email"]
    assert [c["name"] for c in new_inventory["assets"][0]["columns"]] == ["email", "phone"]
    assert old_inventory["view"]["as_of"].startswith(d.isoformat()[:19])
    assert old_inventory["assets"][0]["owners"] == [steward.username]
    assert new_inventory["assets"][0]["owners"] == [estate["admin"].username]

    old_art30, new_art30 = evidence(then.file_path, "art30")["records"][0], evidence(now.file_path, "art30")["records"][0]
    assert old_art30["b_legal_basis"] == "" and "(b) lawful basis" in old_art30["gaps"]
    assert new_art30["b_legal_basis"] == "contract" and new_art30["b_purposes"] == ["Billing"]

    def rules(path):
        return {f["rule"] for f in evidence(path, "findings")["findings"]}

    assert "gdpr.lawful-basis-missing" in rules(then.file_path)
    assert "gdpr.lawful-basis-missing" not in rules(now.file_path)

    def trained_on(path):
        return [e for e in graph(path)["links"] if e["kind"] == "trained_on"]

    assert len(trained_on(then.file_path)) == 1 and trained_on(now.file_path) == []
    assert evidence(then.file_path, "models")["model_versions"][0]["training_data"] == ["crm:public.customers"]
    assert evidence(then.file_path, "models")["model_versions"][0]["entity_types_upstream"] == ["EMAIL_ADDRESS"]

    for done in (then, now):
        problems, summary = verify_bundle.verify_bundle(done.file_path, ledger_key_vkey(done))
        assert problems == [] and summary.startswith("OK")


def ledger_key_vkey(done) -> str:
    return done.verifier_key


def test_a_later_export_proves_consistency_with_the_previous_one(estate):
    first = export()
    catalog.asset_update(asset=estate["asset"], actor=estate["steward"], description="changed")
    second = export()
    with zipfile.ZipFile(second.file_path) as archive:
        consistency = json.loads(archive.read("ledger/consistency.json"))
    assert consistency["previous"]["tree_size"] == first.end_seq
    assert (consistency["first_size"], consistency["second_size"]) == (first.end_seq, second.end_seq)
    assert consistency["proof"]
    assert verify_bundle.verify_bundle(second.file_path, second.verifier_key)[0] == []


def test_a_filtered_export_is_labelled_a_view_of_the_complete_range(estate):
    full = export()
    narrowed = export(regulation="hipaa", asset_ids=[estate["asset"].pk])
    with zipfile.ZipFile(narrowed.file_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        report = archive.read("report.html").decode()
    assert manifest["filtered"] is True and manifest["parameters"]["regulation"] == "hipaa"
    assert "FILTERED VIEW" in manifest["view_note"]
    for name in ("inventory", "art30", "findings", "access", "models"):
        view = evidence(narrowed.file_path, name)["view"]
        assert view["filtered"] is True and "complete" in view["note"]
    assert "Filtered view." in report
    with zipfile.ZipFile(narrowed.file_path) as archive:
        header = archive.read("evidence/art30.csv").decode().splitlines()[0]
    assert header.endswith(",view")
    assert narrowed.first_seq == full.first_seq == 0 and narrowed.end_seq > full.end_seq  # the range itself is never narrowed
    assert evidence(narrowed.file_path, "inventory")["assets"] == []  # an e-mail column is not HIPAA PHI outside a health context


def test_the_lineage_graph_marks_indirect_column_edges_as_stopping_pii(estate):
    """A dataset-wide filter (OpenLineage INDIRECT) carries no personal data: the bundle's graph
    says PII propagation stops there, as the live graph does."""
    from lineage.openlineage import event_ingest

    column_lineage = {
        "_producer": "https://example.org/tests",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
        "fields": {"id": {"inputFields": [{"namespace": "postgres://crm:5432", "name": "public.customers", "field": "id"}]}},
        "dataset": [
            {
                "namespace": "postgres://crm:5432",
                "name": "public.customers",
                "field": "email",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER", "masking": False}],
            }
        ],
    }
    event_ingest(
        actor=estate["steward"],
        payload={
            "eventType": "COMPLETE",
            "eventTime": "2026-11-26T10:00:00Z",
            "run": {"runId": "0191b6d4-6f1e-7c4a-9d3e-1a2b3c4d5e6f"},
            "job": {"namespace": "airflow://prod", "name": "active_customers"},
            "inputs": [{"namespace": "postgres://crm:5432", "name": "public.customers"}],
            "outputs": [
                {"namespace": "postgres://crm:5432", "name": "public.active_ids", "facets": {"columnLineage": column_lineage}}
            ],
            "producer": "https://example.org/tests",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        },
    )
    edges = graph(export().file_path)["links"]
    derives = [e for e in edges if e["kind"] == "derives"]
    indirect = [e for e in derives if e.get("transformation_type") == "INDIRECT"]
    assert indirect and all(e["stops_propagation"] for e in indirect)
    assert any(e.get("transformation_type") != "INDIRECT" and not e["stops_propagation"] for e in derives)
