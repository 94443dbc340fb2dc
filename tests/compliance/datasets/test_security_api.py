"""Security defects 12 and 14 through the API, with real bearer tokens: no token reads or writes a
place the datasets rule refuses -- Custos's own database, paths outside the data roots -- whether it
names the place itself or reaches it through an asset whose location was stored earlier.

Assets with a refused location are made with the factory (no service), as a database written before
the rule existed would hold them: every read by asset id must re-check the location.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.services import token_create
from compliance import datasets
from compliance.scanning.models import ScanRun
from tests.factories import AssetFactory, SourceFactory

pytestmark = pytest.mark.django_db


def app_db() -> Path:
    files = datasets.locations.app_database_files()
    if not files:
        pytest.skip("the app database is not a SQLite file in this run (PostgreSQL pass)")
    return files[0]


def bearer(user) -> APIClient:
    _token, raw = token_create(user=user, actor="test", name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def service(users):
    return bearer(users[Role.SERVICE])


@pytest.fixture
def viewer(users):
    return bearer(users[Role.VIEWER])


@pytest.fixture
def steward(users):
    return bearer(users[Role.STEWARD])


def refused_locations() -> list[str]:
    return [
        f"sqlite:///{app_db()}#django_session",
        f"sqlite:///{app_db()}#accounts_user",
        "postgresql://localhost/custos#public.accounts_user",
        "/etc/passwd",
    ]


def assert_refused(response, *, statuses=(400,)) -> None:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    text = response.content.decode()
    assert str(app_db()) not in text and "django_session" not in text and "accounts_user" not in text


def test_a_scan_by_location_of_the_apps_database_or_outside_the_roots_is_refused(service, steward):
    for location in refused_locations():
        for client in (service, steward):
            assert_refused(client.post("/api/v1/scans", {"location": location}, format="json"))
    assert not ScanRun.objects.exists()


def test_a_scan_by_asset_id_re_checks_the_assets_stored_location(service, steward):
    for location in refused_locations():
        asset = AssetFactory(location=location, sensitivity="public")
        for client in (service, steward):
            response = client.post("/api/v1/scans", {"asset": asset.pk}, format="json")
            assert_refused(response)
            if response.status_code == 400:
                assert "asset" in response.json()["error"]["fields"]
    assert not ScanRun.objects.exists()


def test_a_queued_scan_whose_asset_moved_to_the_apps_database_fails_instead_of_reading_it(steward, data_root):
    from compliance.scanning import services

    (data_root / "ok.csv").write_text("email\na@example.org\n")
    asset = AssetFactory(location=str(data_root / "ok.csv"))
    run = services.scan_start(actor="test", asset=asset, dispatch=False)
    type(asset).objects.filter(pk=asset.pk).update(location=f"sqlite:///{app_db()}#accounts_user")
    run = services.scan_execute(run_id=run.pk, fan_out=False)
    assert run.status == "failed" and "own database" in run.error
    assert run.findings in ([], None, {}) and run.rows_total is None


def test_registering_an_asset_at_the_apps_database_is_refused_even_for_a_steward(steward):
    source = SourceFactory()
    for location in refused_locations():
        response = steward.post(
            reverse("asset-list"),
            {"source": source.pk, "qualified_name": f"x.{abs(hash(location))}", "location": location},
            format="json",
        )
        assert_refused(response)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SERVICE])
def test_a_sample_read_by_asset_id_refuses_the_apps_database_and_paths_outside_the_roots(users, role):
    """Defect 12 as reported: a public asset pointing at django_session / accounts_user / a file outside
    the roots returned session keys, password hashes and raw SSNs to a viewer token."""
    client = bearer(users[role])
    for location in refused_locations():
        asset = AssetFactory(location=location, sensitivity="public")
        response = client.get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics")
        assert_refused(response, statuses=(400, 403, 404))
        assert "rows" not in response.json()


def test_the_rule_refuses_anonymize_outputs_into_the_apps_database():
    """Defect 14: ``anonymize --out sqlite:///<app db>#audit_ledgerentry`` dropped the ledger table."""
    with pytest.raises(datasets.LocationRefused, match="own database"):
        datasets.open_writer(f"sqlite:///{app_db()}#audit_ledgerentry")
