"""Scan runs through the services: catalog classifications, steward decisions, chunks, cancel, audit."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from catalog import services as catalog_services
from catalog.choices import ClassificationState
from catalog.models import Classification
from compliance.scanning import services
from compliance.scanning.choices import ScanStatus
from compliance.scanning.models import ScanChunk, ScanRun
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients_file(tmp_path, people):
    path = tmp_path / "patients.parquet"
    people[["full_name", "email", "ssn", "order_number", "price"]].to_parquet(path, row_group_size=50)
    return path


@pytest.fixture
def asset(patients_file):
    return AssetFactory(location=str(patients_file), kind="file")


def scan(asset, actor, **kwargs):
    run = services.scan_start(actor=actor, asset=asset, dispatch=False, sample_size=300, **kwargs)
    return services.scan_execute(run_id=run.pk, fan_out=False)


def suggested(asset) -> dict[tuple[str, str], Classification]:
    return {(c.column.name, c.entity_type): c for c in Classification.objects.filter(column__asset=asset, source="scan")}


def test_scanning_an_asset_registers_its_columns_and_suggests_classifications(asset, users, engine):
    run = scan(asset, users["steward"])
    assert run.status == ScanStatus.SUCCEEDED and run.rows_total == 300 and run.progress == 1.0
    assert sorted(asset.columns.values_list("name", flat=True)) == ["email", "full_name", "order_number", "price", "ssn"]
    found = suggested(asset)
    assert set(found) == {("full_name", "PERSON"), ("email", "EMAIL_ADDRESS"), ("ssn", "US_SSN")}
    email = found[("email", "EMAIL_ADDRESS")]
    assert email.state == ClassificationState.SUGGESTED and email.confidence > 0.9
    assert email.evidence["scan_run"] == run.pk and email.evidence["share"] == 1.0
    assert email.evidence["recognizers"] == ["EmailRecognizer"]
    assert found[("ssn", "US_SSN")].sensitivity == "restricted"
    assert run.classifications_written == 3


def test_every_scan_step_is_audited_without_cell_values(asset, users, people, engine):
    run = scan(asset, users["steward"])
    actions = list(
        AuditEvent.objects.filter(target_type="scanning.scanrun", target_id=str(run.pk)).values_list("action", flat=True)
    )
    assert actions[0] == "scanning.scan.start" and actions[-1] == "scanning.scan.finish"
    assert {"scanning.scan.run", "scanning.scan.chunk_start", "scanning.scan.chunk"} <= set(actions)
    assert AuditEvent.objects.filter(action="catalog.classification.suggest").count() == 3
    everything = json.dumps(list(AuditEvent.objects.values("details", "reason"))) + json.dumps(run.findings)
    assert not any(v in everything for v in people["email"].head(100).tolist() + people["ssn"].head(100).tolist())


def test_a_rescan_keeps_steward_decisions_and_withdraws_stale_suggestions(asset, users, engine):
    scan(asset, users["steward"])
    found = suggested(asset)
    catalog_services.classification_confirm(classification=found[("email", "EMAIL_ADDRESS")], actor=users["steward"])
    catalog_services.classification_reject(
        classification=found[("full_name", "PERSON")], actor=users["steward"], reason="pseudonyms"
    )
    stale_column = asset.columns.get(name="price")
    catalog_services.classification_suggest(column=stale_column, entity_type="US_ZIP_CODE", source="scan", actor=users["steward"])
    scan(asset, users["steward"], seed=4)
    after = suggested(asset)
    assert after[("email", "EMAIL_ADDRESS")].state == ClassificationState.CONFIRMED
    assert after[("full_name", "PERSON")].state == ClassificationState.REJECTED
    assert after[("full_name", "PERSON")].evidence["scan_run"] == ScanRun.objects.latest("id").pk  # evidence refreshed
    assert ("price", "US_ZIP_CODE") not in after


def test_a_chunked_scan_merges_to_the_same_findings_and_counts_every_row_once(asset, users, engine):
    whole = scan(asset, users["steward"])
    chunked = scan(asset, users["steward"], chunk_rows=100)
    assert chunked.chunks_total == 3 and chunked.chunks_done == 3 and chunked.rows_scanned == 300
    types = lambda run: {(c["name"], e["type"]) for c in run.findings for e in c["entities"]}  # noqa: E731
    assert types(chunked) == types(whole)


def test_a_redelivered_chunk_is_not_counted_twice(asset, users, engine):
    run = services.scan_start(actor=users["steward"], asset=asset, dispatch=False, sample_size=300, chunk_rows=100)
    services.scan_execute(run_id=run.pk, fan_out=False)
    events = AuditEvent.objects.count()
    # the broker redelivers chunk 1 after its worker died having written the result
    services.scan_chunk_execute(run_id=run.pk, index=1)
    run.refresh_from_db()
    assert run.rows_scanned == 300 and run.chunks_done == 3 and run.status == ScanStatus.SUCCEEDED
    assert AuditEvent.objects.count() == events
    # a worker killed before writing: the chunk is pending again and is recomputed exactly once
    run2 = services.scan_start(actor=users["steward"], asset=asset, dispatch=False, sample_size=300, chunk_rows=100)
    services.scan_execute(run_id=run2.pk, fan_out=True)  # chunks queued, none run yet (on_commit never fires here)
    services.scan_chunk_execute(run_id=run2.pk, index=0)
    services.scan_chunk_execute(run_id=run2.pk, index=0)
    run2.refresh_from_db()
    assert run2.chunks_done == 1 and run2.rows_scanned == 100
    assert ScanChunk.objects.get(run=run2, index=0).attempts == 1


def test_a_cancelled_scan_does_no_more_work(asset, users, engine):
    run = services.scan_start(actor=users["steward"], asset=asset, dispatch=False, chunk_rows=100)
    services.scan_execute(run_id=run.pk, fan_out=True)
    services.scan_cancel(run=run, actor=users["steward"], reason="wrong file")
    services.scan_chunk_execute(run_id=run.pk, index=0)
    run.refresh_from_db()
    assert run.status == ScanStatus.CANCELLED and run.chunks_done == 0
    assert AuditEvent.objects.filter(action="scanning.scan.cancel", target_id=str(run.pk)).exists()
    with pytest.raises(ValidationError, match="already cancelled"):
        services.scan_cancel(run=run, actor=users["steward"])


def test_an_unreadable_source_fails_the_run_with_a_clear_error(tmp_path, users):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    run = services.scan_start(actor=users["steward"], location=str(path), dispatch=False)
    services.scan_execute(run_id=run.pk, fan_out=False)
    run.refresh_from_db()
    assert run.status == ScanStatus.FAILED and "line 3 has 3 fields, expected 2" in run.error
    assert AuditEvent.objects.filter(action="scanning.scan.fail", target_id=str(run.pk)).exists()


def test_it_refuses_credentials_in_a_location_and_an_asset_without_one(users):
    with pytest.raises(ValidationError, match="credentials"):
        services.scan_start(actor=users["steward"], location="postgresql://u:pw@db/x#t", dispatch=False)
    with pytest.raises(ValidationError, match="no location"):
        services.scan_start(actor=users["steward"], asset=AssetFactory(location=""), dispatch=False)
    assert not ScanRun.objects.exists()


def test_a_database_asset_is_located_through_its_registered_source(users, data_root, monkeypatch):
    """No location: the asset's source must reference its connection string (dsn_ref); a source whose
    connection is a bare URL (the web process's own credentials) is refused."""
    import sqlite3

    db = data_root / "clinic.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE patients (email text)")
    asset = AssetFactory(location="", qualified_name="patients")
    asset.source.connection = {"url": "postgresql://db.internal:5432/clinic"}
    asset.source.save()
    with pytest.raises(ValidationError, match="connection reference"):
        services.scan_start(actor=users["steward"], asset=asset, dispatch=False)
    monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"sqlite:///{db}")
    asset.source.connection = {"dsn_ref": "env:CUSTOS_SOURCE_CLINIC"}
    asset.source.save()
    assert services.asset_location(asset) == f"source:{asset.source.name}#patients"


def test_scan_dataframe_findings_match_a_recorded_scan(asset, users, people, engine):
    from compliance.scanning.scanner import scan_dataframe

    frame = people[["full_name", "email", "ssn", "order_number", "price"]]
    local = scan_dataframe(pd.DataFrame(frame), sample_size=300)
    run = scan(asset, users["steward"])
    assert {(c.name, e.type) for c in local.columns for e in c.entities} == {
        (c["name"], e["type"]) for c in run.findings for e in c["entities"]
    }


def test_national_ids_and_special_categories_are_suggested_as_restricted(tmp_path, users, engine):
    """European national identification numbers are restricted like an SSN; GDPR Art. 9 special
    categories (here ethnicity) too; an e-mail address stays confidential (issue 13 classes 5, 6)."""
    import random

    rng = random.Random(87)
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    numbers = [rng.randint(10_000_000, 99_999_999) for _ in range(300)]
    frame = pd.DataFrame(
        {
            "dni": [f"{n}{letters[n % 23]}" for n in numbers],
            "ethnicity": [rng.choice(["Hispanic or Latino", "Not Hispanic or Latino", "Asian", "White"]) for _ in numbers],
            "email": [f"user{i}@example.org" for i in range(300)],
        }
    )
    path = tmp_path / "eu_members.parquet"
    frame.to_parquet(path)
    asset = AssetFactory(location=str(path), kind="file")
    scan(asset, users["steward"])
    found = suggested(asset)
    assert {("dni", "ES_NIF"), ("ethnicity", "RACE_ETHNICITY"), ("email", "EMAIL_ADDRESS")} <= set(found)
    assert found[("dni", "ES_NIF")].sensitivity == "restricted"
    assert found[("ethnicity", "RACE_ETHNICITY")].sensitivity == "restricted"
    assert found[("email", "EMAIL_ADDRESS")].sensitivity == "confidential"
