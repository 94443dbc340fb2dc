"""The compliance tabs of the asset page in a real browser: policies and open findings, and a
sample read on demand through the access service (masked as the decision says)."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.models import AuditEvent
from catalog import services as catalog_services
from tests.e2e.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asset(settings, tmp_path):
    from compliance.policies.services import policy_evaluate

    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    path = tmp_path / "contacts.csv"
    pd.DataFrame({"email": ["ann@example.org", "bo@example.org"], "tier": ["gold", "silver"]}).to_csv(path, index=False)
    source = catalog_services.source_ensure(namespace=f"file://{tmp_path}", actor="test", kind="file_share")
    asset = catalog_services.asset_register(
        actor="test", source=source, qualified_name="crm.contacts", kind="file", location=str(path), sensitivity="restricted"
    )
    cols = catalog_services.columns_sync(asset=asset, columns=[{"name": "email"}, {"name": "tier"}], actor="test")
    email = catalog_services.classification_suggest(
        column=cols["email"], entity_type="EMAIL_ADDRESS", source="scan", actor="test"
    )
    catalog_services.classification_confirm(classification=email, actor="test", reason="seen")
    policy_evaluate(asset=asset, actor="test")
    return asset


def test_a_steward_reads_policies_findings_and_a_masked_sample_on_the_asset_page(page_as, asset, screenshots):
    page = page_as("steward")  # a steward on restricted data: allow_masked
    page.goto(f"{page.custos_url}/assets/{asset.pk}/")
    page.locator("#tab-panel-policies").click()
    findings = page.locator("#panel-policies")
    findings.wait_for()
    assert findings.locator("tbody tr").count() >= 1 and "Open findings" in findings.inner_text()
    page.screenshot(path=str(screenshots / "asset-policies.png"), full_page=True)
    assert_accessible(page)

    reads = AuditEvent.objects.filter(action="policies.asset.sample_read").count()
    page.locator("#tab-panel-sample").click()
    assert AuditEvent.objects.filter(action="policies.asset.sample_read").count() == reads  # opening the tab reads nothing
    page.get_by_role("button", name="Read a sample").click()
    table = page.locator("#panel-sample table")
    table.wait_for()
    text = table.inner_text()
    assert "tok_" in text and "ann@example.org" not in text and "masked" in text
    assert AuditEvent.objects.filter(action="policies.asset.sample_read").count() == reads + 1
    page.screenshot(path=str(screenshots / "asset-sample.png"), full_page=True)
    assert_accessible(page)
