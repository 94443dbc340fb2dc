"""Anonymization runs: Safe Harbor leaves none of the 18 identifiers, checked by comparing every
original identifier value with the output and by re-scanning the output with the scanner."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from catalog import services as catalog_services
from compliance.policies import services
from compliance.policies.models import AnonymizationRun
from compliance.scanning.scanner import scan_dataframe
from tests.compliance.policies.conftest import IDENTIFIER_COLUMNS, make_patients

pytestmark = pytest.mark.django_db

DEMO = Path(settings.BASE_DIR) / "fixtures" / "data" / "hospital"
SAFE_HARBOR_TYPES = {
    "PERSON",
    "LOCATION",
    "US_ZIP_CODE",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "US_SSN",
    "MEDICAL_RECORD_NUMBER",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "URL",
    "IP_ADDRESS",
    "MEDICAL_LICENSE",
    "US_NPI",
    "UK_NHS",
    "DATE_TIME",
}
YEARISH = re.compile(r"^(\d{4}|90\+)$")
STATE_CODE = re.compile(r"^[A-Z]{2}$")  # two-letter state codes, kept by Safe Harbor


def demo_patients(fmt: str) -> Path:
    path = DEMO / f"patients.{fmt}"
    if not path.exists():
        pytest.skip(f"demo data {path} not generated")
    return path


def run_command(src: Path, dst: Path, policy: str = "hipaa-safe-harbor") -> str:
    out = io.StringIO()
    call_command("anonymize", str(src), "--policy", policy, "--out", str(dst), stdout=out)
    return out.getvalue()


def run_gdpr(src: Path, dst: Path) -> None:
    """The pseudonymizing profile keeps the city (a quasi-identifier, GDPR Art. 4(5)); Faker's city
    names spell first names ("East Jennifer"), which the value search honestly reports: the command
    exits 2 and names that column, and only that one."""
    with pytest.raises(CommandError) as failure:
        run_command(src, dst, policy="gdpr-pseudonymize")
    assert failure.value.returncode == 2
    search = AnonymizationRun.objects.latest("id").report["verification"]["checks"][0]
    assert set(search["by_column"]) == {"city"}


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(path).astype(object).where(lambda f: f.notna(), "").astype(str)


def assert_no_identifier_remains(source: pd.DataFrame, output: pd.DataFrame, identifier_columns: list[str]) -> None:
    cells = set(output.to_numpy().ravel().tolist())
    text = "\n".join(output.to_numpy().ravel().tolist())
    for column in identifier_columns:
        originals = {str(v) for v in source[column] if str(v).strip()}
        assert not originals & cells, f"an original {column} value is still in the output"
        long_ones = [v for v in originals if len(v) >= 6]
        assert not [v for v in long_ones if v in text], f"an original {column} value appears inside an output cell"
    # Scrubbed text holds our own "<PHONE_NUMBER>" placeholders, which NER reads as names: the
    # re-scan judges the text around them.
    scanned = output.apply(lambda c: c.str.replace(r"<[A-Z_]+>", " ", regex=True))
    findings = scan_dataframe(scanned, sample_size=1000, seed=1)
    for column in findings.columns:
        for entity in column.entities:
            if entity.type == "DATE_TIME" and output[column.name].map(lambda v: v == "" or bool(YEARISH.match(v))).all():
                continue  # years alone are allowed by 164.514(b)(2)(i)(C)
            if entity.type == "LOCATION" and output[column.name].map(lambda v: v == "" or bool(STATE_CODE.match(v))).all():
                continue  # a state is not an identifier: 164.514(b)(2)(i)(B) removes only what is smaller
            assert entity.type not in SAFE_HARBOR_TYPES, f"re-scan found {entity.type} in {column.name}"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_safe_harbor_on_the_demo_patients_table_leaves_no_identifier_and_keeps_the_rest(tmp_path, fmt):
    src = tmp_path / f"patients.{fmt}"  # a copy: Custos never reads git-tracked fixtures in place
    shutil.copy(demo_patients(fmt), src)
    dst = tmp_path / f"patients_deid.{fmt}"
    summary = run_command(src, dst)
    assert "checks passed (nothing found): identifier value search (every output cell)" in summary
    source, output = read(src), read(dst)
    assert len(output) == len(source) and list(output.columns) == list(source.columns)
    identifiers = [*IDENTIFIER_COLUMNS[:-1], "primary_care_npi", "zip", "date_of_birth", "created_at"]
    assert_no_identifier_remains(source, output, [c for c in identifiers if c in source.columns])
    for column in ("sex", "state", "marital_status", "ethnicity", "blood_type", "smoker"):
        assert output[column].tolist() == source[column].tolist(), f"{column} should be unchanged"
    assert output["zip"].str.fullmatch(r"\d{3}").all()
    assert output["date_of_birth"].map(lambda v: bool(YEARISH.match(v))).all()
    run = AnonymizationRun.objects.get()
    assert run.report["passed"] and run.report["identifier_check"]["values_found_in_output"] == 0
    assert run.report["k_anonymity"]["quasi_identifiers"]


def test_safe_harbor_zeroes_restricted_zip3_areas_and_groups_ages_over_89(patients_csv, tmp_path):
    src, source = patients_csv
    dst = tmp_path / "out.csv"
    run_command(src, dst)
    output = read(dst)
    restricted = (
        source["zip"]
        .str[:3]
        .isin(
            [
                "036",
                "059",
                "063",
                "102",
                "203",
                "556",
                "692",
                "790",
                "821",
                "823",
                "830",
                "831",
                "878",
                "879",
                "884",
                "890",
                "893",
            ]
        )
    )
    assert restricted.any() and (output.loc[restricted, "zip"] == "000").all()
    assert (output.loc[~restricted, "zip"] == source.loc[~restricted, "zip"].str[:3]).all()
    old = source["age"].astype(int) > 89
    assert old.any() and (output.loc[old, "age"] == "90+").all() and (output.loc[old, "date_of_birth"] == "90+").all()
    assert (output.loc[~old, "age"] == source.loc[~old, "age"]).all()
    assert (output["admitted_on"] == source["admitted_on"].str[:4]).all()
    assert (output["diagnosis_code"] == source["diagnosis_code"]).all()
    assert_no_identifier_remains(source, output, [*IDENTIFIER_COLUMNS, "zip", "date_of_birth"])


def test_free_text_notes_are_scrubbed_of_every_labelled_identifier(tmp_path):
    notes_path, labels_path = DEMO / "clinical_notes.csv", DEMO / "clinical_notes_pii_labels.csv"
    if not notes_path.exists() or not labels_path.exists():
        pytest.skip("demo clinical notes not generated")
    notes = pd.read_csv(notes_path, dtype=str, keep_default_na=False).head(60)
    src = tmp_path / "notes.csv"
    notes.to_csv(src, index=False)
    dst = tmp_path / "notes_deid.csv"
    run_command(src, dst)
    output = read(dst)
    labels = pd.read_csv(labels_path)
    labels = labels[labels["note_id"].isin(notes["note_id"])]
    assert len(labels) > 50
    texts = dict(zip(notes["note_id"], notes["note_text"], strict=True))
    scrubbed = dict(zip(notes["note_id"], output["note_text"], strict=True))
    missed = [row.entity_type for row in labels.itertuples() if texts[row.note_id][row.start : row.end] in scrubbed[row.note_id]]
    assert missed == []
    assert output["author"].eq("<PERSON>").all()
    assert_no_identifier_remains(notes, output.drop(columns=["note_text"]), ["note_id", "patient_id", "author", "written_at"])


def test_gdpr_pseudonymization_tokens_are_joinable_and_contacts_reversible(patients_csv, tmp_path, users):
    src, source = patients_csv
    dst = tmp_path / "pseudo.csv"
    run_gdpr(src, dst)
    output = read(dst)
    assert output["patient_id"].str.startswith("tok_").all() and output["patient_id"].nunique() == source["patient_id"].nunique()
    assert output["email"].str.startswith("siv:").all()
    token = output.loc[0, "email"]
    assert (
        services.token_reveal(token=token, purpose="support", reason="subject access request 42", actor=users["steward"])
        == source.loc[0, "email"]
    )
    event = AuditEvent.objects.filter(action="policies.token.reveal").latest("id")
    assert source.loc[0, "email"] not in json.dumps(event.details) + event.reason
    # dates are shifted per subject, never kept
    assert not (output["admitted_on"] == source["admitted_on"]).all()


def test_reversal_is_refused_and_audited_without_a_steward_role_or_purpose(patients_csv, tmp_path, users):
    src, _ = patients_csv
    dst = tmp_path / "pseudo.csv"
    run_gdpr(src, dst)
    token = read(dst).loc[0, "email"]
    with pytest.raises(PermissionDenied):
        services.token_reveal(token=token, purpose="analytics", reason="curious", actor=users["viewer"])
    with pytest.raises(PermissionDenied):
        services.token_reveal(token=token, purpose="marketing", reason="campaign", actor=users["steward"])
    assert AuditEvent.objects.filter(action="policies.token.reveal_denied").count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing.csv", "--policy", "hipaa-safe-harbor", "--out", "{tmp}/o.csv"], "no such file"),
        (["{src}", "--policy", "hipaa-safe-harbor", "--out", "{tmp}/o.parquet"], "same format"),
        (["{src}", "--policy", "no-such-policy", "--out", "{tmp}/o.csv"], "unknown policy"),
        (["{tmp}/data.txt", "--policy", "hipaa-safe-harbor", "--out", "{tmp}/o.txt"], "unsupported format"),
    ],
)
def test_the_command_exits_non_zero_with_a_clear_message_on_bad_input(patients_csv, tmp_path, args, message):
    src, _ = patients_csv
    (tmp_path / "data.txt").write_text("x")
    argv = [a.format(src=src, tmp=tmp_path) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("anonymize", *argv, stdout=io.StringIO())


def test_the_command_fails_on_a_file_that_is_not_parquet(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "anonymize", str(bad), "--policy", "hipaa-safe-harbor", "--out", str(tmp_path / "o.parquet"), stdout=io.StringIO()
        )


def test_anonymizing_a_cataloged_asset_registers_the_copy_with_an_anonymizing_lineage_edge(file_asset, tmp_path, users):
    frame = make_patients(60)
    asset = file_asset(frame, "patients", sensitivity="restricted")
    column = asset.columns.get(name="first_name")
    catalog_services.classification_assign(column=column, entity_type="PERSON", actor=users["steward"])
    run = services.anonymization_run(
        actor=users["steward"], policy="hipaa-safe-harbor", source_asset=asset, output_path=tmp_path / "out.csv"
    )
    assert run.status == "succeeded" and run.target_asset is not None
    target = run.target_asset
    assert target.sensitivity == "internal" and target.location.endswith("out.csv")
    assert {c["name"]: c["basis"] for c in run.report["columns"]}["first_name"] == "catalog classification"
    from lineage.models import Edge

    edges = Edge.objects.filter(kind="anonymized", src_id=asset.pk, dst_id=target.pk)
    assert edges.exists() and all(e.masking for e in edges)
    assert AuditEvent.objects.filter(action="policies.anonymization.finish", target_id=str(run.pk)).exists()


def test_a_database_table_is_anonymized_into_a_table_and_into_parquet(tmp_path):
    import sqlite3

    source = make_patients(80)
    db = tmp_path / "clinic.db"
    with sqlite3.connect(db) as conn:
        source.to_sql("patients", conn, index=False)
    run_command(f"sqlite:///{db}#patients", f"sqlite:///{db}#patients_deid")
    with sqlite3.connect(db) as conn:
        table = pd.read_sql("SELECT * FROM patients_deid", conn).astype(object).fillna("").astype(str)
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {"patients", "patients_deid"}
    assert len(table) == len(source)
    assert_no_identifier_remains(source, table, [*IDENTIFIER_COLUMNS, "zip", "date_of_birth"])
    run_command(f"sqlite:///{db}#patients", tmp_path / "patients_deid.parquet")
    assert len(read(tmp_path / "patients_deid.parquet")) == len(source)


def test_k_anonymity_can_be_enforced_by_suppressing_rare_quasi_identifier_combinations(patients_csv, tmp_path, users):
    src, source = patients_csv
    services.policy_create(
        actor=users["steward"],
        name="research extract k=5",
        kind="anonymization",
        config={"profile": "hipaa-safe-harbor", "quasi_identifiers": ["sex", "age"], "k": 5, "k_enforce": True},
    )
    dst = tmp_path / "k5.csv"
    run_command(src, dst, policy="research extract k=5")
    output = read(dst)
    report = AnonymizationRun.objects.get().report["k_anonymity"]
    assert report["before_suppression"]["k"] < 5 and report["rows_suppressed"] > 0
    assert report["k"] >= 5 and report["classes_below_target"] == 0
    suppressed = output["age"] == "*"
    assert suppressed.sum() == report["rows_suppressed"] and (output.loc[suppressed, "sex"] == "*").all()
    intact = output.loc[~suppressed].groupby(["sex", "age"]).size()
    assert intact.min() >= 5
    assert len(output) == len(source)


def test_a_surrogate_vault_keeps_codes_joinable_across_tables_and_runs(patients_csv, tmp_path, users, key_ring):
    src, source = patients_csv
    visits = pd.DataFrame(
        {"visit_id": [f"V{i}" for i in range(50)], "patient_id": source["patient_id"].head(50), "reason": "check-up"}
    )
    visits_src = tmp_path / "visits.csv"
    visits.to_csv(visits_src, index=False)
    services.policy_create(
        actor=users["steward"],
        name="safe harbor, joinable",
        kind="anonymization",
        config={
            "profile": "hipaa-safe-harbor",
            "columns": {"patient_id": {"operator": "surrogate", "vault": "hospital", "prefix": "pt_"}},
        },
    )
    run_command(src, tmp_path / "p.csv", policy="safe harbor, joinable")
    run_command(visits_src, tmp_path / "v.csv", policy="safe harbor, joinable")
    patients_out, visits_out = read(tmp_path / "p.csv"), read(tmp_path / "v.csv")
    assert visits_out["patient_id"].tolist() == patients_out["patient_id"].head(50).tolist()
    assert patients_out["patient_id"].str.startswith("pt_").all() and not set(patients_out["patient_id"]) & set(
        source["patient_id"]
    )
    vault_file = key_ring / "surrogates" / "hospital.sqlite3"
    assert vault_file.exists() and source["patient_id"].iloc[0].encode() not in vault_file.read_bytes()
