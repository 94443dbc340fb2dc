"""Unclassified special categories in masked samples (issue 17, item 10): on a restricted asset,
an ``allow_masked`` sample masks every column whose sensitivity is unknown (nobody classified it),
not only the classified and name-hinted ones."""

from __future__ import annotations

import pandas as pd
import pytest

from accounts.choices import Role
from catalog import services as catalog_services
from catalog.models import Classification

pytestmark = pytest.mark.django_db

PATIENTS = pd.DataFrame(
    {
        "patient_id": ["P1", "P2"],
        "email": ["a@example.org", "b@example.org"],
        "ethnicity": ["Hispanic or Latino", "Asian"],
        "blood_type": ["O+", "AB-"],
        "marital_status": ["Married", "Single"],
        "ward": ["3B", "4A"],
    }
)


@pytest.fixture
def asset_of(settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]

    def make(sensitivity: str):
        path = tmp_path / f"patients_{sensitivity}.csv"
        PATIENTS.to_csv(path, index=False)
        source = catalog_services.source_ensure(namespace=f"file://{tmp_path}", actor="test", kind="file_share")
        asset = catalog_services.asset_register(
            actor="test",
            source=source,
            qualified_name=f"patients_{sensitivity}",
            kind="file",
            location=str(path),
            sensitivity=sensitivity,
        )
        catalog_services.columns_sync(asset=asset, columns=[{"name": c} for c in PATIENTS.columns], actor="test")
        Classification.objects.create(
            column=asset.columns.get(name="email"),
            entity_type="EMAIL_ADDRESS",
            source="steward",
            state="confirmed",
            sensitivity=sensitivity,
        )
        # a steward looked at ``ward`` and rejected the suggestion: known, not personal
        Classification.objects.create(
            column=asset.columns.get(name="ward"),
            entity_type="LOCATION",
            source="scan",
            state="rejected",
            sensitivity=sensitivity,
        )
        return asset

    return make


def sample(api_as, role, asset):
    response = api_as(role).get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics")
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    return body["decision"], body["rows"]


def test_a_restricted_assets_unclassified_columns_come_back_masked(api_as, asset_of):
    asset = asset_of("restricted")
    decision, rows = sample(api_as, Role.STEWARD, asset)
    assert decision["effect"] == "allow_masked"
    for column in ("ethnicity", "blood_type", "marital_status", "email"):
        assert column in decision["masked_columns"]
        assert all(row[column].startswith("tok_") for row in rows), column
    raw = {v for column in ("ethnicity", "blood_type", "marital_status") for v in PATIENTS[column]}
    assert not raw & {v for row in rows for v in row.values()}
    assert [row["ward"] for row in rows] == ["3B", "4A"]  # reviewed by a steward: shown


def test_below_restricted_only_classified_and_name_hinted_columns_are_masked(api_as, asset_of):
    asset = asset_of("internal")
    decision, rows = sample(api_as, Role.VIEWER, asset)
    assert decision["effect"] == "allow_masked"
    assert "ethnicity" not in decision["masked_columns"] and rows[0]["blood_type"] == "O+"
    assert all(row["email"].startswith("tok_") for row in rows)
