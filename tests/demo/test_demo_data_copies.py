"""Defect 7: the demo catalog points at working copies under var/, never at git-tracked fixtures."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from catalog.models import DataAsset
from demo.data import demo_data_dir

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db]


def fixtures_status() -> str:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--", "fixtures/"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.fixture
def demo_var(tmp_path):
    with override_settings(VAR_DIR=tmp_path, CUSTOS_SCAN_ROOTS=[tmp_path]):
        call_command("demo_load", "--no-scan", "--no-logins", stdout=io.StringIO())
        yield tmp_path


def test_it_points_every_demo_file_asset_at_a_copy_under_var(demo_var):
    located = DataAsset.objects.exclude(location="")
    assert located.exists()
    for asset in located:
        path = Path(asset.location)
        assert path.is_absolute() and path.is_relative_to(demo_var / "demo-data"), asset.qualified_name
        assert "fixtures" not in path.parts
        assert path.is_file()


def test_the_documented_retention_example_changes_the_copy_and_never_the_repository(demo_var, users, eager_celery):
    from compliance.policies import services as policies

    before = fixtures_status()
    lab = DataAsset.objects.get(location__endswith="hospital/lab_results.csv")
    original_rows = len(pd.read_csv(REPO / "fixtures/data/hospital/lab_results.csv"))
    # docs/policies.md section 2: "lab export 30 days", then retention_enforce (section 5).
    policies.policy_create(
        actor=users["steward"],
        name="lab export 30 days",
        kind="retention",
        assets=[lab],
        config={"max_age_days": 30, "date_column": "collected_at", "action": "delete_rows"},
    )
    call_command("retention_enforce", stdout=io.StringIO())
    copy_rows = len(pd.read_csv(demo_data_dir() / "hospital/lab_results.csv"))
    assert copy_rows < original_rows  # the example did delete rows: in the copy
    assert len(pd.read_csv(REPO / "fixtures/data/hospital/lab_results.csv")) == original_rows
    assert fixtures_status() == before


def test_demo_setup_keeps_a_changed_copy_unless_asked_to_reset(demo_var):
    copy = demo_data_dir() / "hospital/lab_results.csv"
    copy.write_text("result_id\n1\n")
    call_command("demo_setup", "--no-static", "--no-scan", stdout=io.StringIO())
    assert copy.read_text() == "result_id\n1\n"
    call_command("demo_setup", "--no-static", "--no-scan", "--reset-data", stdout=io.StringIO())
    assert copy.read_bytes() == (Path(settings.BASE_DIR) / "fixtures/data/hospital/lab_results.csv").read_bytes()
