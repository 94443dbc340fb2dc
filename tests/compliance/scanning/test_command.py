"""The ``scan`` command contract: one JSON document on stdout, progress on stderr, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Classification
from compliance.scanning.models import ScanRun
from tests.factories import AssetFactory

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def csv_file(tmp_path, people):
    path = tmp_path / "people.csv"
    people[["full_name", "email", "phone", "order_number", "price", "backup_email"]].to_csv(path, index=False)
    return path


@pytest.mark.django_db
def test_json_prints_exactly_one_document_with_the_contract_shape(csv_file, engine):
    out, err = StringIO(), StringIO()
    call_command("scan", str(csv_file), "--json", "--sample", "200", "--seed", "3", stdout=out, stderr=err)
    document = json.loads(out.getvalue())  # fails on anything else on stdout
    assert set(document) == {"source", "rows_total", "rows_sampled", "seconds", "columns"}
    assert document["source"] == str(csv_file) and document["rows_total"] == 300 and document["rows_sampled"] >= 200
    assert isinstance(document["seconds"], float)
    columns = {c["name"]: c["entities"] for c in document["columns"]}
    assert list(columns) == ["full_name", "email", "phone", "order_number", "price", "backup_email"]
    assert [e["type"] for e in columns["email"]] == ["EMAIL_ADDRESS"]
    assert columns["order_number"] == [] and columns["price"] == []
    assert set(columns["email"][0]) == {"type", "confidence", "share"}
    assert "scan: done" in err.getvalue()
    assert ScanRun.objects.get().findings[1]["entities"][0]["type"] == "EMAIL_ADDRESS"  # recorded and audited


@pytest.mark.django_db
def test_a_relative_path_is_relative_to_the_current_directory(csv_file, engine, monkeypatch):
    # the data root is tmp_path; the shell is in tmp_path/sub (the API would read tmp_path/people.csv)
    sub = csv_file.parent / "sub"
    sub.mkdir()
    moved = csv_file.rename(sub / csv_file.name)
    monkeypatch.chdir(sub)
    out = StringIO()
    call_command("scan", moved.name, "--json", "--sample", "100", stdout=out, stderr=StringIO())
    assert json.loads(out.getvalue())["source"] == str(moved)
    assert ScanRun.objects.get().location == str(moved)


@pytest.mark.django_db
def test_with_an_asset_it_writes_suggested_classifications(csv_file, engine):
    asset = AssetFactory(location=str(csv_file), kind="file")
    out = StringIO()
    call_command("scan", "--asset", str(asset.pk), "--json", stdout=out, stderr=StringIO())
    document = json.loads(out.getvalue())
    assert document["rows_total"] == 300
    assert Classification.objects.filter(column__asset=asset, entity_type="EMAIL_ADDRESS", state="suggested").exists()


@pytest.mark.django_db
def test_bad_input_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("scan", str(tmp_path / "nope.csv"), "--json", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="no asset with id 999"):
        call_command("scan", "--asset", "999", stdout=StringIO(), stderr=StringIO())


def test_the_process_exits_non_zero_with_the_reason_on_stderr_and_nothing_on_stdout(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    proc = subprocess.run(
        [sys.executable, "manage.py", "scan", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "CUSTOS_ENV": "test",
            "CUSTOS_VAR_DIR": str(tmp_path / "var"),
            "CUSTOS_DATA_ROOTS": str(tmp_path),
        },
        timeout=120,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert "malformed CSV (line 3 has 3 fields, expected 2)" in proc.stderr
