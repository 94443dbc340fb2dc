"""The demo data (fixtures/) and the commands that load it: demo_load and demo_setup."""

from __future__ import annotations

import ipaddress
import json
import re
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from accounts.models import User
from audit.models import AuditEvent
from catalog.models import (
    Classification,
    Column,
    DataAsset,
    DataSource,
    Domain,
    GlossaryTerm,
    MLModel,
    ModelVersion,
    Tag,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CATALOG = json.loads((FIXTURES / "demo_catalog.json").read_text())
MODELS = json.loads((FIXTURES / "demo_models.json").read_text())

DATASETS = {
    "hospital/patients": (
        ["patient_id", "mrn", "first_name", "last_name", "date_of_birth", "sex", "ssn", "phone", "email", "street_address"]
        + ["city", "state", "zip", "insurance_member_id", "primary_care_npi", "marital_status", "ethnicity", "created_at"],
        (1800, 2200),
    ),
    "hospital/encounters": (
        ["encounter_id", "patient_id", "admit_date", "discharge_date", "department", "diagnosis_code", "attending_npi"]
        + ["length_of_stay", "readmitted_30d", "discharge_disposition", "created_at"],
        (9000, 11000),
    ),
    "hospital/lab_results": (
        ["result_id", "encounter_id", "patient_id", "test_code", "test_name", "value", "unit", "reference_range", "collected_at"],
        (18000, 22000),
    ),
    "hospital/clinical_notes": (["note_id", "encounter_id", "patient_id", "author", "note_text", "written_at"], (2900, 3100)),
    "retail/customers": (
        ["customer_id", "full_name", "email", "phone", "date_of_birth", "street_address", "city", "country", "postcode"]
        + ["iban", "credit_card_number", "ip_address", "signup_date", "loyalty_tier", "marketing_opt_in"],
        (1800, 2200),
    ),
    "retail/transactions": (
        ["transaction_id", "customer_id", "timestamp", "amount", "currency", "merchant_name", "merchant_category"]
        + ["card_last4", "channel", "is_fraud", "device_id"],
        (18000, 22000),
    ),
    "features/readmission_features": (
        ["encounter_id", "age_band", "los_days", "prior_admissions", "n_lab_results", "abnormal_lab_share", "department"]
        + ["readmitted_30d"],
        (9000, 11000),
    ),
    "features/fraud_features": (
        ["transaction_id", "amount_mean_30d", "tx_count_24h", "merchant_risk", "is_fraud"],
        (18000, 22000),
    ),
}

CATALOG_MODELS = (Domain, Tag, GlossaryTerm, DataSource, DataAsset, Column, Classification, MLModel, ModelVersion)


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (*CATALOG_MODELS, User, AuditEvent)} | {
        "asset_history": DataAsset.history.count(),
        "column_history": Column.history.count(),
    }


def load(*args: str) -> str:
    """Run demo_load; without the PII scan unless ``"--scan"`` is passed (the scan has its own test)."""
    out = StringIO()
    argv = [a for a in args if a != "--scan"] + ([] if "--scan" in args else ["--no-scan"])
    call_command("demo_load", *argv, stdout=out)
    return out.getvalue()


# --- the data files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_dataset_is_committed_as_csv_and_parquet_with_its_columns(name):
    columns, (low, high) = DATASETS[name]
    parquet = pd.read_parquet(FIXTURES / "data" / f"{name}.parquet")
    csv_header = (FIXTURES / "data" / f"{name}.csv").read_text().splitlines()[0].split(",")
    assert set(columns) <= set(parquet.columns)
    assert csv_header == list(parquet.columns)
    assert low <= len(parquet) <= high


def test_the_demo_data_stays_small_enough_to_commit():
    total = sum(p.stat().st_size for p in (FIXTURES / "data").rglob("*") if p.is_file())
    assert total < 15 * 1024 * 1024


def test_identifiers_are_synthetic_never_real_looking():
    patients = pd.read_parquet(FIXTURES / "data/hospital/patients.parquet")
    customers = pd.read_parquet(FIXTURES / "data/retail/customers.parquet")
    # SSN area numbers 900-999 are never issued as SSNs.
    assert patients["ssn"].str.fullmatch(r"9\d\d-\d\d-\d{4}").all()
    assert patients["mrn"].str.fullmatch(r"MRN-\d{7}").all() and patients["mrn"].is_unique
    assert patients["primary_care_npi"].map(lambda n: len(n) == 10 and luhn_ok("80840" + n)).all()
    for emails in (patients["email"], customers["email"]):
        assert emails.str.fullmatch(r"[^@\s]+@example\.(com|org|net)").all()
    assert customers["credit_card_number"].map(lambda n: n.startswith("400000") and luhn_ok(n)).all()
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    assert customers["ip_address"].map(lambda ip: any(ipaddress.ip_address(ip) in net for net in docs)).all()


def test_rows_span_about_ten_years_so_retention_has_something_to_delete():
    encounters = pd.read_parquet(FIXTURES / "data/hospital/encounters.parquet")
    admit = pd.to_datetime(encounters["admit_date"])
    assert (admit.max() - admit.min()).days > 9 * 365
    assert (admit < admit.max() - pd.Timedelta(days=3650 - 365)).sum() > 100


def test_about_half_the_clinical_notes_carry_personal_data_at_the_labelled_spans():
    notes = pd.read_parquet(FIXTURES / "data/hospital/clinical_notes.parquet").set_index("note_id")
    labels = pd.read_csv(FIXTURES / "data/hospital/clinical_notes_pii_labels.csv")
    share = labels["note_id"].nunique() / len(notes)
    assert 0.4 < share < 0.6
    assert {"PERSON", "PHONE_NUMBER", "DATE_TIME", "EMAIL_ADDRESS", "LOCATION"} <= set(labels["entity_type"])
    for row in labels.head(200).itertuples():
        span = notes.loc[row.note_id, "note_text"][row.start : row.end]
        assert span and span == span.strip()
        if row.entity_type == "EMAIL_ADDRESS":
            assert re.fullmatch(r"\S+@example\.(com|org|net)", span)


def test_demo_models_record_real_metrics_and_every_version_has_a_model_card():
    assert set(MODELS["models"]) == {m["name"] for m in CATALOG["models"]}
    for spec in CATALOG["models"]:
        versions = MODELS["models"][spec["name"]]["versions"]
        assert {v["version"] for v in versions} == set(spec["versions"])
        for v in versions:
            assert 0.6 < v["metrics"]["roc_auc"] <= 1.0
            assert v["hyperparameters"] and v["features"]
    stages = [v["stage"] for m in MODELS["models"].values() for v in m["versions"]]
    assert "production" in stages and "staging" in stages


# --- demo_load ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_load_builds_the_demo_catalog_on_an_empty_database():
    output = load()
    assert User.objects.count() == len(CATALOG["users"])
    assert {u.role for u in User.objects.all()} == {"admin", "steward", "auditor", "service", "viewer"}
    assert DataSource.objects.count() == len(CATALOG["sources"])
    assert DataAsset.objects.count() == len(CATALOG["assets"])
    assert Column.objects.count() == sum(len(a["columns"]) for a in CATALOG["assets"])
    assert Domain.objects.count() == 3 and MLModel.objects.count() == 2
    assert ModelVersion.objects.count() == sum(len(m["versions"]) for m in MODELS["models"].values())
    for user in CATALOG["users"]:
        assert user["username"] in output and user["password"] in output
        assert User.objects.get(username=user["username"]).check_password(user["password"])

    patients = DataAsset.objects.get(qualified_name="clinical.patients")
    assert patients.source.namespace == "postgres://hospital-db:5432"
    assert patients.sensitivity == "restricted"  # raised by the confirmed US_SSN classification
    assert patients.legal_basis and patients.retention_days and patients.storage_country == "US"
    assert patients.owners.filter(username="ana.clinical").exists()
    ssn = Classification.objects.get(column__asset=patients, column__name="ssn")
    assert (ssn.entity_type, ssn.state, ssn.source, ssn.sensitivity) == ("US_SSN", "confirmed", "steward", "restricted")
    assert Classification.objects.filter(state="rejected").count() == 1
    assert Classification.objects.filter(state="suggested").count() == 1
    for asset in DataAsset.objects.all():
        assert (REPO / asset.location).is_file(), asset.location
        assert asset.columns.exists() and asset.owners.exists()

    production = ModelVersion.objects.filter(stage="production")
    assert production.count() == 2 and ModelVersion.objects.filter(stage="staging").count() == 1
    assert production.filter(dpia_reference="").count() == 1  # left for the compliance findings to flag
    for version in ModelVersion.objects.all():
        assert version.training_datasets.exists() and version.evaluation_datasets.exists()
        assert version.features.count() == len(
            next(v["features"] for v in MODELS["models"][version.model.name]["versions"] if v["version"] == version.version)
        )
        assert version.metrics["roc_auc"] > 0.6 and version.intended_use and version.limitations

    # Every row the load made has its audit event (the services wrote them in the same transaction).
    audited = set(AuditEvent.objects.values_list("target_type", "target_id"))
    for model in (*CATALOG_MODELS, User):
        label = model._meta.label_lower
        missing = [pk for pk in model.objects.values_list("pk", flat=True) if (label, str(pk)) not in audited]
        assert not missing, f"{label} rows without an audit event: {missing}"
    confirmed = sum(len(a.get("classifications", [])) for a in CATALOG["assets"])
    assert AuditEvent.objects.filter(action="catalog.classification.confirm", actor_type="user").count() == confirmed


@pytest.mark.django_db
def test_running_demo_load_again_changes_nothing_and_keeps_what_a_steward_changed():
    from catalog.services import asset_update

    load()
    first = counts()
    output = load()
    assert counts() == first
    assert "nothing to do" in output
    asset = DataAsset.objects.get(qualified_name="retail.customers")
    asset_update(asset=asset, actor=User.objects.get(username="steward"), description="Edited by a steward.")
    load()
    asset.refresh_from_db()
    assert asset.description == "Edited by a steward."


@pytest.mark.django_db
def test_in_production_demo_users_get_no_known_password():
    with override_settings(CUSTOS_ENV="production"):
        output = load()
    assert User.objects.count() == len(CATALOG["users"])
    assert not any(u.has_usable_password() for u in User.objects.all())
    assert not any(u["password"] in output for u in CATALOG["users"])
    with override_settings(CUSTOS_ENV="production"):
        from demo.management.commands.demo_load import demo_load

        with pytest.raises(CommandError, match="production"):
            demo_load(known_passwords=True)


# --- demo_setup ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_setup_migrates_loads_and_prints_logins_and_urls():
    out = StringIO()
    call_command("demo_setup", "--no-static", "--no-scan", stdout=out)
    text = out.getvalue()
    assert DataAsset.objects.count() == len(CATALOG["assets"])
    for expected in ("http://127.0.0.1:8000/", "/admin/", "/api/docs/", "custos-demo-admin", "viewer"):
        assert expected in text
    before = counts()
    call_command("demo_setup", "--no-static", "--no-scan", stdout=StringIO())
    assert counts() == before


@pytest.mark.django_db
def test_demo_setup_refuses_to_run_in_production():
    with override_settings(CUSTOS_ENV="production"), pytest.raises(CommandError, match="demo"):
        call_command("demo_setup", "--no-static", stdout=StringIO())
    assert not User.objects.exists()


# --- optional integrations ----------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_lineage_links_raw_tables_to_feature_sets_to_models(django_capture_on_commit_callbacks):
    pytest.importorskip("lineage.openlineage", reason="the lineage app's OpenLineage intake is not in this build")
    from lineage.models import Edge, Job, Run

    # A real run commits, so the lineage app's after-commit work (PII propagation over the new edges,
    # model linking) runs; run just that here (the other apps' receivers have their own tests).
    with django_capture_on_commit_callbacks() as callbacks:
        output = load()
    for callback in callbacks:
        if getattr(callback, "__module__", "").startswith("lineage."):
            callback()
    jobs = CATALOG["lineage"]["jobs"]
    assert Job.objects.count() == len(jobs) and Run.objects.filter(state="COMPLETE").count() == len(jobs)
    assert Column.objects.count() == sum(len(a["columns"]) for a in CATALOG["assets"])  # lineage named no unknown column
    features = DataAsset.objects.get(qualified_name="clinical/readmission_features")
    age_band = features.columns.get(name="age_band")
    derived_from = Edge.objects.filter(kind="derives", dst_type="column", dst_id=age_band.pk, valid_to__isnull=True)
    assert {Column.objects.get(pk=e.src_id).name for e in derived_from} == {"date_of_birth", "admit_date"}
    assert all(e.masking for e in derived_from)
    version = ModelVersion.objects.get(model__name="readmission-risk", version="1.0.0")
    assert Edge.objects.filter(kind="trained_on", dst_type="model_version", dst_id=version.pk, src_id=features.pk).exists()
    assert "lineage:" in output
    # The steward's HEALTH_DATA on the raw export flows to the curated table. (A real run commits each
    # lineage event before the demo reviews run, so it confirms the label at once; here the captured
    # callbacks run when the block ends, so the second load confirms it.)
    inherited = Classification.objects.get(column__asset__qualified_name="clinical.lab_results", column__name="value")
    assert (inherited.entity_type, inherited.source) == ("HEALTH_DATA", "propagated")
    load()
    inherited.refresh_from_db()
    assert inherited.state == "confirmed" and inherited.decided_by.username == "steward"
    events = AuditEvent.objects.count()
    assert "0 OpenLineage events applied" in load()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_demo_pii_scan_suggests_classifications_and_applies_the_demo_reviews_once():
    pytest.importorskip("compliance.scanning.services", reason="the scanning app is not in this build")
    from compliance.scanning.models import ScanRun

    output = load("--scan", "--scan-sample=150")
    assert ScanRun.objects.filter(status="succeeded").count() == len(CATALOG["assets"]), output
    scan = Classification.objects.filter(source="scan")
    assert scan.filter(column__asset__qualified_name="clinical.patients", column__name="ssn", entity_type="US_SSN").exists()
    assert scan.filter(column__asset__qualified_name="clinical.clinical_notes", column__name="note_text").exists()
    assert not scan.filter(column__asset__qualified_name="retail.transactions", column__name="amount").exists()
    for review in [r for r in CATALOG["reviews"] if r.get("source", "scan") == "scan"]:
        rows = Classification.objects.filter(
            column__asset__qualified_name=review["asset"][1],
            column__name=review["column"],
            entity_type=review["entity_type"],
            source=review.get("source", "scan"),
        )
        assert all(row.state == {"confirm": "confirmed", "reject": "rejected"}[review["decision"]] for row in rows)
    runs, suggestions = ScanRun.objects.count(), scan.count()
    again = load("--scan", "--scan-sample=150")
    assert "0 assets scanned" in again and (ScanRun.objects.count(), scan.count()) == (runs, suggestions)
