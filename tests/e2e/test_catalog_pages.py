"""Steward pages in a real browser: log in, search, open an asset, and look at it."""

import pytest

from catalog import services
from tests.factories import AssetFactory, ColumnFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_steward_logs_in_searches_and_reads_an_asset(chromium, live_server, make_user, tmp_path):
    steward = make_user("steward", username="stella")
    steward.set_password("a long demo password")
    steward.save()
    asset = AssetFactory(qualified_name="clinical.patients", description="One row per patient", sensitivity="confidential")
    ssn = ColumnFactory(asset=asset, name="ssn", position=0)
    services.classification_assign(column=ssn, entity_type="US_SSN", actor=steward, sensitivity="restricted")
    ColumnFactory(asset=asset, name="blood_type", position=1)

    page = chromium.new_page()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # pages need a login
    page.fill("#id_username", "stella")
    page.fill("#id_password", "a long demo password")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/?q=patient")
    assert page.locator("ul.hits li").first.inner_text().startswith("asset")
    page.locator("ul.hits a", has_text="patients").first.click()
    assert page.locator("h1").inner_text().startswith("patients")
    row = page.locator("tr", has_text="ssn")
    assert "US_SSN · steward · confirmed" in row.inner_text()
    assert "restricted" in page.locator("h1 .sens").inner_text().lower()
    page.screenshot(path=str(tmp_path / "asset.png"), full_page=True)
    page.close()
