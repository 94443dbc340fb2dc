"""Issue 12, defect 13: nobody switches masking off for data they may read.

Masking follows the classified *column* -- by identity, by every name it has had
(``catalog.selectors.column_names_ever``) and in every asset it has belonged to -- and a decision
never uses less than ``catalog.selectors.asset_sensitivity_floor``. Checked through the API with
real bearer tokens of a viewer and a service, for sample reads (``GET /assets/{id}/sample``) and
for anonymization runs on the asset.
"""

from __future__ import annotations

import pandas as pd
import pytest
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.services import token_create
from catalog import services as catalog_services
from catalog.models import Column, DataAsset
from compliance.policies.models import AnonymizationRun

pytestmark = pytest.mark.django_db

NOTES = pd.DataFrame(
    {
        "visit": ["V1", "V2", "V3"],
        # a code no scanner or column name gives away: only the classification says what it is
        "ref": ["K7Q2P9", "X3M8B1", "T5R4W6"],
        "note_text": ["seen for follow-up", "reports mild pain", "discharged home"],
    }
)
# The role reads with allow_masked at this sensitivity (docs/policies.md, the baseline table).
MASKED_AT = {Role.VIEWER: "internal", Role.SERVICE: "confidential"}


def bearer(user) -> APIClient:
    _token, raw = token_create(user=user, actor="test", name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def notes_asset(file_asset, users):
    def make(sensitivity: str) -> DataAsset:
        asset = file_asset(NOTES, f"notes_{sensitivity}", sensitivity=sensitivity)
        for column, entity in (("ref", "MEDICAL_RECORD_NUMBER"), ("note_text", "PERSON")):
            catalog_services.classification_assign(
                column=Column.objects.get(asset=asset, name=column),
                entity_type=entity,
                actor=users[Role.STEWARD],
                reason="test",
                sensitivity=sensitivity,
            )
        return asset

    return make


def sample(client: APIClient, asset: DataAsset) -> dict:
    response = client.get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics")
    assert response.status_code == 200, response.content
    return response.json()


def assert_masked(body: dict, *columns: str) -> None:
    assert body["decision"]["effect"] == "allow_masked"
    for column in columns:
        assert column in body["decision"]["masked_columns"], column
        values = [row[column] for row in body["rows"]]
        assert not set(values) & set(NOTES[column]), f"{column} came back unmasked"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SERVICE])
def test_renaming_a_classified_column_does_not_unmask_it(users, notes_asset, role):
    asset = notes_asset(MASKED_AT[role])
    client = bearer(users[role])
    assert_masked(sample(client, asset), "ref", "note_text")
    column = Column.objects.get(asset=asset, name="note_text")
    # the reader cannot rename it (a steward decision) ...
    response = client.patch(f"/api/v1/columns/{column.pk}", {"name": "x_renamed"}, format="json")
    assert response.status_code in (403, 404), response.content
    # ... and when a steward does, the data still has ``note_text``: masked all the same
    catalog_services.column_update(column=column, actor=users[Role.STEWARD], name="x_renamed", reason="test")
    assert_masked(sample(client, asset), "ref", "note_text")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SERVICE])
def test_moving_a_classified_column_to_another_asset_does_not_unmask_it(users, notes_asset, file_asset, role):
    asset = notes_asset(MASKED_AT[role])
    other = file_asset(pd.DataFrame({"x": ["1"]}), "elsewhere", sensitivity=MASKED_AT[role])
    client = bearer(users[role])
    column = Column.objects.get(asset=asset, name="ref")
    response = client.patch(f"/api/v1/columns/{column.pk}", {"asset": other.pk}, format="json")
    assert response.status_code in (403, 404), response.content
    catalog_services.column_update(column=column, actor=users[Role.STEWARD], asset=other, reason="test")
    assert not Column.objects.filter(asset=asset, name="ref").exists()
    assert_masked(sample(client, asset), "ref", "note_text")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SERVICE])
def test_lowering_sensitivity_to_public_does_not_unmask(users, notes_asset, role):
    asset = notes_asset(MASKED_AT[role])
    client = bearer(users[role])
    response = client.patch(f"/api/v1/assets/{asset.pk}", {"sensitivity": "public"}, format="json")
    assert response.status_code in (400, 403), response.content
    assert_masked(sample(client, asset), "ref", "note_text")
    # A row written around the services (an old database, a bulk fix): the decision still uses the
    # floor the confirmed classifications imply, never the stored value alone.
    DataAsset.objects.filter(pk=asset.pk).update(sensitivity="public")
    body = sample(client, asset)
    assert body["decision"]["sensitivity"] == MASKED_AT[role]
    assert_masked(body, "ref", "note_text")


def test_anonymization_follows_a_renamed_and_a_moved_classified_column(
    users, notes_asset, file_asset, api_as, django_capture_on_commit_callbacks, settings, tmp_path
):
    """The plan takes the catalog's classification by column identity: ``ref`` (a code nothing but
    the classification identifies) is replaced after the column was renamed in the catalog, and
    after it was moved to another asset."""
    settings.VAR_DIR = tmp_path / "var"  # outputs go under var/, inside the test's data root
    steward = users[Role.STEWARD]

    def run_ref_operator(asset) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_as(Role.STEWARD).post(
                "/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "hipaa-safe-harbor"}, format="json"
            )
        assert response.status_code in (201, 202), response.content
        run = AnonymizationRun.objects.get(pk=response.json()["id"])
        assert run.status == "succeeded", run.error
        out = pd.read_csv(run.output_path, dtype=str, keep_default_na=False)
        assert not set(out["ref"]) & set(NOTES["ref"])
        return next(c for c in run.report["columns"] if c["name"] == "ref")["operator"]

    renamed = notes_asset("confidential")
    baseline = run_ref_operator(renamed)
    assert baseline != "keep"
    column = Column.objects.get(asset=renamed, name="ref")
    catalog_services.column_update(column=column, actor=steward, name="reference_code", reason="test")
    assert run_ref_operator(renamed) == baseline

    moved = notes_asset("restricted")
    other = file_asset(pd.DataFrame({"x": ["1"]}), "elsewhere")
    column = Column.objects.get(asset=moved, name="ref")
    catalog_services.column_update(column=column, actor=steward, asset=other, reason="test")
    assert run_ref_operator(moved) == baseline
