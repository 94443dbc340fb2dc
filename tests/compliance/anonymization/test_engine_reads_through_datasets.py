"""Issue 12/13 (known gap): the anonymizer engine reads and writes only through
``compliance.datasets`` -- the location rule on every open, the same readers as scans (a
semicolon-separated CSV, JSON lines) and the same writers (``.partial`` renamed on commit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone

from compliance import datasets
from compliance.policies import anonymizer, operators, profiles
from tests.compliance.policies.conftest import make_patients

SAFE_HARBOR = profiles.resolve({"profile": "hipaa-safe-harbor"})


def ctx() -> operators.Context:
    return operators.Context(reference_year=timezone.now().year)


def test_a_semicolon_separated_csv_is_read_as_the_datasets_layer_reads_it(tmp_path):
    frame = make_patients(40)
    src, dst = tmp_path / "p.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False, sep=";")
    report = anonymizer.anonymize_file(src, dst, profile=SAFE_HARBOR, ctx=ctx(), scan=False)
    output = datasets.read_frame(str(dst))
    assert list(output.columns) == list(frame.columns)
    assert {c["name"]: c["operator"] for c in report.columns}["ssn"] == "redact"
    assert output["ssn"].isna().all() and output["blood_type"].tolist() == frame["blood_type"].tolist()


def test_json_lines_are_anonymized_into_json_lines(tmp_path):
    frame = make_patients(30)
    src, dst = tmp_path / "p.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records")))
    report = anonymizer.anonymize_file(src, dst, profile=SAFE_HARBOR, ctx=ctx(), scan=False)
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert len(rows) == len(frame) == report.rows
    assert all(r["ssn"] is None and r["email"] is None for r in rows)
    assert report.passed is True


def test_the_engine_refuses_a_source_outside_the_data_roots_whoever_calls_it(tmp_path, settings):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir(), outside.mkdir()
    settings.CUSTOS_DATA_ROOTS = [inside]
    make_patients(10).to_csv(outside / "p.csv", index=False)
    with pytest.raises(datasets.LocationRefused):
        anonymizer.anonymize_file(outside / "p.csv", inside / "out.csv", profile=SAFE_HARBOR, ctx=ctx(), scan=False)
    assert not (inside / "out.csv").exists()
    make_patients(10).to_csv(inside / "p.csv", index=False)
    with pytest.raises(datasets.LocationRefused):
        anonymizer.anonymize_file(inside / "p.csv", outside / "out.csv", profile=SAFE_HARBOR, ctx=ctx(), scan=False)
    assert not list(outside.glob("out.csv*"))


def test_a_failed_run_leaves_no_output_and_no_partial_file(tmp_path):
    frame = make_patients(20)
    src, dst = tmp_path / "p.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    policy = profiles.resolve(
        {"profile": "hipaa-safe-harbor", "columns": {"admitted_on": {"operator": "date_shift", "subject_column": "nope"}}}
    )
    with pytest.raises(operators.OperatorError):
        anonymizer.anonymize_file(src, dst, profile=policy, ctx=ctx(), scan=False)
    assert not dst.exists() and not Path(str(dst) + ".partial").exists()


def test_the_engine_module_opens_no_file_itself():
    source = Path(anonymizer.__file__).read_text()
    for call in ("pd.read_csv", "pd.read_parquet", "pq.", "to_csv(", "to_parquet(", "to_sql(", "open("):
        assert call not in source, call
