"""The posture dashboard in a real browser: an auditor verifies the ledger from it and sees the
evidence exports with their progress; a steward sees the estate without the auditor's sections."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog import services as catalog_services
from tests.e2e.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate(settings, tmp_path):
    """A signed ledger, a PII asset with suggestions and findings, a running evidence export."""
    from audit import keys
    from audit.services import checkpoint_create
    from compliance.evidence.models import EvidenceExport
    from compliance.policies.services import policy_evaluate

    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "ledger.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "ledger.key.trusted")
    keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
    path = tmp_path / "patients.csv"
    pd.DataFrame({"email": ["a@example.org"], "ssn": ["123-45-6789"], "ward": ["B"]}).to_csv(path, index=False)
    source = catalog_services.source_ensure(namespace=f"file://{tmp_path}", actor="test", kind="file_share")
    asset = catalog_services.asset_register(
        actor="test", source=source, qualified_name="clinical.patients", kind="file", location=str(path), sensitivity="public"
    )
    cols = catalog_services.columns_sync(asset=asset, columns=[{"name": c} for c in ("email", "ssn", "ward")], actor="test")
    email = catalog_services.classification_suggest(
        column=cols["email"], entity_type="EMAIL_ADDRESS", source="scan", actor="test"
    )
    catalog_services.classification_confirm(classification=email, actor="test", reason="seen")
    catalog_services.classification_suggest(column=cols["ssn"], entity_type="US_SSN", source="scan", actor="test")
    policy_evaluate(asset=asset, actor="test")
    checkpoint_create(actor="test")
    EvidenceExport.objects.create(requested_by_name="auditor", status="running", progress=0.4, stage="collecting the inventory")
    return asset


def test_an_auditor_verifies_the_ledger_from_the_dashboard(page_as, estate, screenshots):
    page = page_as("auditor")
    page.goto(f"{page.custos_url}/dashboard/")
    assert page.locator("h1").inner_text() == "Posture dashboard"
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Dashboard"
    for key in ("pii_coverage", "scan_coverage", "review", "findings", "retention", "exports", "ledger"):
        assert page.locator(f"#panel-{key} h2").count() == 1, key
    coverage = page.locator("#panel-pii_coverage").inner_text()
    assert "66.7% of 3 columns carry a PII label" in coverage and "1 (33.3%)" in coverage  # email confirmed
    assert page.locator("#panel-findings tbody tr").count() >= 1
    assert page.locator("#panel-exports progress").get_attribute("value") == "40"
    page.screenshot(path=str(screenshots / "dashboard-auditor.png"), full_page=True)
    assert_accessible(page)

    page.get_by_role("button", name="Verify the ledger").click()
    result = page.locator("#ledger-verify-result .verify")
    result.wait_for()
    text = result.inner_text()
    assert "No problem found" in text and "1 stored checkpoint" in text
    assert "every entry's body hashes" in text and "a checkpoint kept outside this database" in text
    page.screenshot(path=str(screenshots / "dashboard-verified.png"), full_page=True)
    assert_accessible(page)


def test_a_steward_sees_the_estate_without_the_auditors_sections(page_as, estate, screenshots):
    page = page_as("steward")
    page.goto(f"{page.custos_url}/dashboard/")
    assert page.locator("#panel-ledger").count() == 0 and page.locator("#panel-exports").count() == 0
    assert "1 suggestion on 1 asset" in page.locator("#panel-review").inner_text()
    page.locator("#panel-review a", has_text="review queue").click()
    assert page.locator("h1").inner_text() == "Review queue"
    page.go_back()
    page.screenshot(path=str(screenshots / "dashboard-steward.png"), full_page=True)
    assert_accessible(page)
    # a forged verify from the steward's session is refused by the service
    text = page.evaluate(
        """async () => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const r = await fetch('/audit/verify/', {method: 'POST', headers: {'X-CSRFToken': token}});
            return r.status + ' ' + await r.text();
        }"""
    )
    assert text.startswith("403") and "steward may not audit the ledger" in text


def test_an_auditor_asks_for_an_export_from_the_dashboard_and_downloads_a_bundle_that_verifies(
    page_as, estate, screenshots, settings, tmp_path
):
    """The auditor's daily task end to end in the browser: the dashboard's "Ask for an export" (the
    admin form, the export service), back to the dashboard, "Download bundle", and the downloaded zip
    verifies offline against the export's verifier key; the download is in the ledger."""
    from audit.models import AuditEvent
    from compliance.evidence.models import EvidenceExport
    from compliance.evidence.verify_bundle import verify_bundle

    settings.MEDIA_ROOT = str(tmp_path / "media")
    page = page_as("auditor")
    page.goto(f"{page.custos_url}/dashboard/")
    page.get_by_role("link", name="Ask for an export").click()
    page.wait_for_load_state()
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    assert "started" in page.locator(".messagelist").inner_text()
    export = EvidenceExport.objects.exclude(requested_by_name="auditor").get()  # the fixture's one is "auditor"
    assert export.status == "succeeded", export.error

    page.goto(f"{page.custos_url}/dashboard/")
    link = page.locator(f'#panel-exports a[href="/api/v1/evidence/exports/{export.pk}/download"]')
    assert link.inner_text() == "Download bundle"
    page.screenshot(path=str(screenshots / "dashboard-export-ready.png"), full_page=True)
    assert_accessible(page)
    with page.expect_download() as download:
        link.click()
    bundle = tmp_path / "bundle.zip"
    download.value.save_as(bundle)
    problems, summary = verify_bundle(bundle, export.verifier_key)
    assert problems == [], problems
    assert AuditEvent.objects.filter(
        action="evidence.export.download", target_id=str(export.pk), actor_id=str(page.custos_user.pk)
    ).exists()
