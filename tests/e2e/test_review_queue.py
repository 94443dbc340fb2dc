"""The review queue in a real browser: a steward's daily review with the keyboard (accept with a
reason, reject), a bulk decision per asset, and read-only roles whose forged POST is refused."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from catalog import services as catalog_services
from catalog.models import Classification
from tests.e2e.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLUMNS = {
    "patient_id": None,
    "full_name": ("PERSON", ["SpacyRecognizer"], 0.93),
    "email": ("EMAIL_ADDRESS", ["EmailRecognizer"], 1.0),
    "ssn": ("US_SSN", ["UsSsnRecognizer"], 0.98),
    "phone": ("PHONE_NUMBER", ["PhoneRecognizer"], 0.87),
    "blood_type": None,
}
RAW = ["Ann Lee", "ann.lee@example.org", "123-45-6789", "(212) 555-0101"]


@pytest.fixture
def estate(settings, tmp_path):
    """Two file assets with scan suggestions (a confirmed steward label hides the identical one)."""
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    source = catalog_services.source_ensure(namespace=f"file://{tmp_path}", actor="test", kind="file_share")
    assets = {}
    for name, sensitivity in (("clinical.patients", "confidential"), ("crm.contacts", "internal")):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame(
            {
                "patient_id": ["P1", "P2", "P3"],
                "full_name": ["Ann Lee", "Bo Chan", "Cy Diaz"],
                "email": ["ann.lee@example.org", "bo@example.org", "cy@example.org"],
                "ssn": ["123-45-6789", "234-56-7890", "345-67-8901"],
                "phone": ["(212) 555-0101", "(212) 555-0102", "(212) 555-0103"],
                "blood_type": ["A+", "O-", "B+"],
            }
        ).to_csv(path, index=False)
        asset = catalog_services.asset_register(
            actor="test", source=source, qualified_name=name, kind="file", location=str(path), sensitivity=sensitivity
        )
        cols = catalog_services.columns_sync(
            asset=asset, columns=[{"name": c, "position": i} for i, c in enumerate(COLUMNS)], actor="test"
        )
        for column, spec in COLUMNS.items():
            if spec:
                entity, recognizers, confidence = spec
                catalog_services.classification_suggest(
                    column=cols[column],
                    entity_type=entity,
                    source="scan",
                    actor="test",
                    confidence=confidence,
                    evidence={
                        "scan_run": 1,
                        "share": confidence,
                        "recognizers": recognizers,
                        "name_hint_used": True,
                        "sampled": 3,
                        "nonnull": 3,
                    },
                )
        assets[name] = asset
    catalog_services.classification_assign(
        column=assets["crm.contacts"].columns.get(name="email"), entity_type="EMAIL_ADDRESS", actor="test", reason="known"
    )
    return assets


def state(asset, column):
    return Classification.objects.get(column__asset=asset, column__name=column, source="scan")


def wait_for_samples(page):
    page.wait_for_function(
        "() => document.querySelectorAll('.sample .values, .sample .muted:not(:empty)').length > 0 && !document.body.innerText.includes('loading…')"
    )


def test_a_steward_reviews_with_the_keyboard_and_decides_in_bulk(page_as, estate, screenshots):
    patients, contacts = estate["clinical.patients"], estate["crm.contacts"]
    page = page_as("steward", username="stella")
    page.goto(f"{page.custos_url}/review/")
    wait_for_samples(page)
    assert page.locator("h1").inner_text() == "Review queue"
    assert "7 open suggestions on 2 assets" in page.locator(".lead").inner_text()
    # the steward's own EMAIL_ADDRESS label on crm.contacts.email hides the identical suggestion
    contacts_rows = page.locator(f"#asset-{contacts.pk} tr.suggestion")
    assert contacts_rows.count() == 3 and "EMAIL_ADDRESS" not in page.locator(f"#asset-{contacts.pk} tbody").inner_text()
    body = page.locator("main").inner_text()
    assert not any(v in body for v in RAW)  # shapes and tokens only
    assert "aaa.aaa@aaaaaaa.aaa" in body and "999-99-9999" in body
    assert page.locator(".shortcuts").is_visible() and "accept" in page.locator(".shortcuts").inner_text()
    page.screenshot(path=str(screenshots / "queue-steward.png"), full_page=True)
    assert_accessible(page)

    # j j -> second suggestion of the first asset (clinical.patients has most open suggestions)
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator("tr.suggestion.current")
    assert current.count() == 1 and "email" in current.inner_text()
    page.keyboard.press("a")
    reason = current.locator("input[name=reason]")
    assert reason.evaluate("el => el === document.activeElement")
    page.keyboard.type("format checked on the sample")
    page.screenshot(path=str(screenshots / "queue-accepting.png"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Accepted 1 suggestion: EMAIL_ADDRESS on patients.email." in page.locator(".messages").inner_text()
    email = state(patients, "email")
    assert (email.state, email.decision_reason, email.decided_by.username) == (
        "confirmed",
        "format checked on the sample",
        "stella",
    )

    # the position is kept: the current row is now the one after email (ssn); reject it with r
    wait_for_samples(page)
    current = page.locator("tr.suggestion.current")
    assert "ssn" in current.inner_text()
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    page.keyboard.type("test fixture numbers")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Rejected 1 suggestion: US_SSN on patients.ssn." in page.locator(".messages").inner_text()
    assert state(patients, "ssn").state == "rejected"

    # Enter without choosing a or r first does nothing but ask
    wait_for_samples(page)
    first = page.locator(f"#asset-{patients.pk} tr.suggestion").first
    first.locator("input[name=reason]").fill("typed, no decision")
    first.locator("input[name=reason]").press("Enter")
    assert "Press Accept or Reject" in page.locator("#shortcut-status").inner_text()

    # bulk: select every suggestion on crm.contacts, give a reason, confirm the dialog
    group = page.locator(f"#asset-{contacts.pk}")
    group.locator("[data-select-all]").check()
    assert group.locator("[data-selected-count]").inner_text() == "3 selected"
    group.locator("input[name=reason]").first.fill("synthetic CRM export, reviewed with the owner")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    with page.expect_navigation():
        group.get_by_role("button", name="Accept selected").click()
    assert dialogs == ["Accept 3 suggestions on contacts?"]
    assert "Accepted 3 suggestions" in page.locator(".messages").inner_text()
    assert set(
        Classification.objects.filter(column__asset=contacts, source="scan")
        .exclude(entity_type="EMAIL_ADDRESS")
        .values_list("state", flat=True)
    ) == {"confirmed"}
    wait_for_samples(page)
    page.screenshot(path=str(screenshots / "queue-after.png"), full_page=True)
    assert_accessible(page)


def test_the_asset_review_page_and_a_narrow_screen(page_as, estate, screenshots):
    patients = estate["clinical.patients"]
    page = page_as("steward", width=800)
    page.goto(f"{page.custos_url}/review/assets/{patients.pk}/")
    assert page.locator("h1").inner_text() == "Review patients"
    assert page.locator("tr.suggestion").count() == 4
    page.screenshot(path=str(screenshots / "asset-review-800.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 800px"
    assert_accessible(page)


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_read_only_roles_see_no_decide_controls_and_a_forged_post_is_refused(page_as, estate, screenshots, role):
    patients = estate["clinical.patients"]
    page = page_as(role)
    page.goto(f"{page.custos_url}/review/")
    wait_for_samples(page)
    assert page.locator("form.decide").count() == 0 and page.locator("form.bulk").count() == 0
    assert "Read-only" in page.locator(".readonly").inner_text()
    page.screenshot(path=str(screenshots / f"queue-{role}.png"), full_page=True)
    assert_accessible(page)
    target = state(patients, "ssn")
    html = page.evaluate(
        """async (id) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const body = new URLSearchParams({ids: id, decision: 'confirm', reason: 'forged'});
            const r = await fetch('/review/decide/', {method: 'POST', body, headers: {'X-CSRFToken': token}});
            return await r.text();
        }""",
        str(target.pk),
    )
    assert re.search(rf"{role} may not decide classifications", html)
    target.refresh_from_db()
    assert target.state == "suggested"
