"""Model and model-version pages in headless Chromium, as a steward (acknowledge an alert with a
reason), an auditor (reads everything, no acknowledge form) and a viewer (a version trained on a
restricted asset is a 404). axe-core must report no serious or critical violation; screenshots are
kept under var/screenshots/."""

from __future__ import annotations

import pytest

from monitoring.choices import AlertState
from monitoring.models import Alert
from tests.compliance.evidence.conftest import ledger_key  # noqa: F401 - fixture
from tests.e2e.accessibility import assert_accessible
from tests.monitoring.test_pages import build_monitored_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def monitored(users, tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]  # the live server runs in this process: same settings
    return build_monitored_model(users, tmp_path)


def test_a_steward_finds_the_model_and_acknowledges_an_alert_with_a_reason(page_as, monitored, screenshots):
    page = page_as("steward")
    page.get_by_role("link", name="Models", exact=True).click()
    page.wait_for_load_state()
    page.screenshot(path=str(screenshots / "01-models.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("link", name="churn-risk").click()
    page.wait_for_load_state()
    page.screenshot(path=str(screenshots / "02-model.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("link", name="churn-risk@2.1.0").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("churn-risk@2.1.0")
    page.screenshot(path=str(screenshots / "03-version.png"), full_page=True)
    page.screenshot(path=str(screenshots / "03a-version-first-screen.png"))
    page.locator("#monitoring").screenshot(path=str(screenshots / "03b-monitoring.png"))
    assert_accessible(page)

    first = page.locator("#alerts article.alert-open").first
    subject = first.locator("h3").inner_text()
    first.get_by_role("button", name="Acknowledge").click()  # empty reason: the browser refuses (required)
    assert page.url.endswith(f"/models/versions/{monitored.version.pk}/")
    first.get_by_label("Reason for acknowledging").fill("seasonal campaign, expected until March")
    first.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    assert "acknowledged" in page.locator(".messages").inner_text()
    ack = Alert.objects.filter(monitor=monitored.monitor, state=AlertState.ACKNOWLEDGED).get()
    assert ack.acknowledge_reason == "seasonal campaign, expected until March" and ack.acknowledged_by == page.custos_user
    assert ack.subject in subject
    assert "seasonal campaign, expected until March" in page.locator("#alerts").inner_text()
    page.screenshot(path=str(screenshots / "04-acknowledged.png"))
    assert_accessible(page)


def test_an_auditor_reads_the_version_without_an_acknowledge_form(page_as, monitored, screenshots):
    page = page_as("auditor")
    page.goto(f"{page.custos_url}/models/versions/{monitored.version.pk}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#alerts article").count() > 0
    assert page.locator("#alerts form").count() == 0
    images = page.locator("#monitoring .monitor > .plots img")  # the ones shown without opening a <details>
    assert images.count() > 0
    for i in range(images.count()):  # every plot loaded (natural width > 0), through the same scoped API
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=images.nth(i).element_handle())
    page.screenshot(path=str(screenshots / "version-auditor.png"), full_page=True)
    assert_accessible(page)
    page.goto(f"{page.custos_url}/models/versions/{monitored.hidden.pk}/")
    assert page.locator("h1").inner_text().startswith("churn-risk@3.0.0-rc1")


def test_a_viewer_gets_404_for_a_restricted_version_and_does_not_see_it_listed(page_as, monitored, screenshots):
    page = page_as("viewer", width=900)
    page.goto(f"{page.custos_url}/models/{monitored.version.model_id}/")
    assert "3.0.0-rc1" not in page.locator("main").inner_text()
    page.screenshot(path=str(screenshots / "model-viewer-900.png"), full_page=True)
    assert_accessible(page)
    response = page.goto(f"{page.custos_url}/models/versions/{monitored.hidden.pk}/")
    assert response.status == 404
    response = page.goto(f"{page.custos_url}/models/versions/{monitored.version.pk}/")
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "version-viewer-900.png"), full_page=True)
    assert_accessible(page)


def test_the_evidence_report_shows_the_monitoring_sections(page_as, monitored, screenshots, ledger_key, tmp_path):  # noqa: F811
    """The bundle's report.html (offline, self-contained) with the sections monitoring registers."""
    import zipfile

    from compliance.evidence import services

    page = page_as("auditor")
    export = services.export_request(actor=page.custos_user, run_async=False)
    export = services.export_build(export_id=export.pk)
    assert export.status == "succeeded", export.error
    report = tmp_path / "report.html"
    with zipfile.ZipFile(export.file_path) as archive:
        report.write_bytes(archive.read("report.html"))
    page.goto(report.as_uri())
    page.locator("#monitoring").scroll_into_view_if_needed()
    assert page.locator("h2#monitoring").inner_text() == "Model monitoring"
    page.screenshot(path=str(screenshots / "report-full.png"), full_page=True)
    page.screenshot(path=str(screenshots / "report-monitoring.png"))
    assert_accessible(page)
