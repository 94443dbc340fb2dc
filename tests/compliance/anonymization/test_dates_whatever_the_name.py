"""Issue 13: date shifting, generalisation and the 90+ rule apply whatever the entry point and
whatever the column is called -- a birth date column named ``c7`` (written ``June 29, 1920`` or
``19200629``, which neither the name nor the scanner's date recognizer reveals) gets the same
treatment as one named ``dob``, through the command and through the API."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from compliance.policies.models import AnonymizationRun
from tests.compliance.policies.conftest import make_patients

pytestmark = pytest.mark.django_db


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def births(n: int = 80) -> pd.DataFrame:
    frame = make_patients(n)[["patient_id", "sex", "blood_type"]].copy()
    born = pd.to_datetime(make_patients(n)["date_of_birth"])
    frame["dob"] = born.dt.strftime("%Y-%m-%d")
    frame["c7"] = born.dt.strftime("%B %d, %Y")  # "June 29, 1920"
    frame["c8"] = born.dt.strftime("%Y%m%d")  # "19200629"
    return frame


def through_cli(frame: pd.DataFrame, tmp_path: Path, policy: str) -> tuple[pd.DataFrame, dict]:
    src, dst = tmp_path / f"cli_{policy}.csv", tmp_path / f"cli_{policy}_out.csv"
    frame.to_csv(src, index=False)
    try:
        call_command("anonymize", str(src), "--policy", policy, "--out", str(dst), stdout=io.StringIO())
    except CommandError as exc:
        assert exc.returncode == 2, exc  # an honest "a check found something" still writes the output
    return read(dst), AnonymizationRun.objects.latest("id").report


def through_api(frame: pd.DataFrame, file_asset, api_as, capture, policy: str) -> tuple[pd.DataFrame, dict]:
    asset = file_asset(frame, f"births_{policy.replace('-', '_')}")
    with capture(execute=True):
        response = api_as("steward").post("/api/v1/anonymization-runs", {"asset": asset.pk, "policy": policy}, format="json")
    assert response.status_code in (201, 202), response.content
    run = AnonymizationRun.objects.get(pk=response.json()["id"])
    assert run.status == "succeeded", run.error
    return read(Path(run.output_path)), run.report


@pytest.fixture
def entry_points(file_asset, api_as, django_capture_on_commit_callbacks, tmp_path, settings, eager_celery):
    settings.VAR_DIR = tmp_path / "var"
    return {
        "cli": lambda frame, policy: through_cli(frame, tmp_path, policy),
        "api": lambda frame, policy: through_api(frame, file_asset, api_as, django_capture_on_commit_callbacks, policy),
    }


@pytest.mark.parametrize("entry", ["cli", "api"])
def test_safe_harbor_keeps_only_years_and_caps_ages_over_89_whatever_the_birth_column_is_called(entry, entry_points):
    frame = births()
    output, report = entry_points[entry](frame, "hipaa-safe-harbor")
    years = pd.to_datetime(frame["dob"]).dt.year
    old = timezone.now().year - years > 89
    assert old.sum() >= 3
    expected = years.astype(str).where(~old, "90+")
    for column in ("dob", "c7", "c8"):
        assert output[column].tolist() == expected.tolist(), (entry, column)
    plan = {c["name"]: c for c in report["columns"]}
    assert plan["c7"]["operator"] == plan["c8"]["operator"] == "generalize"
    ages = next(c for c in report["verification"]["checks"] if c["name"].startswith("ages over 89"))
    assert {"dob", "c7", "c8"} <= set(ages["columns"]) and ages["found"] == 0
    assert report["passed"] is True


@pytest.mark.parametrize("entry", ["cli", "api"])
def test_pseudonymization_shifts_every_date_column_of_a_subject_by_the_same_days_whatever_it_is_called(entry, entry_points):
    frame = births()
    output, report = entry_points[entry](frame, "gdpr-pseudonymize")
    plan = {c["name"]: c for c in report["columns"]}
    assert plan["dob"]["operator"] == plan["c7"]["operator"] == plan["c8"]["operator"] == "date_shift"
    source = pd.to_datetime(frame["dob"])
    shifted = {column: pd.to_datetime(output[column]) for column in ("dob", "c7", "c8")}
    # one offset per subject, applied to each of its dates: the three columns stay equal
    assert shifted["dob"].equals(shifted["c7"]) and shifted["dob"].equals(shifted["c8"])
    offsets = (shifted["dob"] - source).dt.days
    assert offsets.abs().le(180).all() and (offsets != 0).mean() > 0.9
