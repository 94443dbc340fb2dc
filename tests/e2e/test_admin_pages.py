"""The admin in a real browser at 1366 px (issue 18, Admin): the asset change page with 30 columns has
no horizontal scroll, JSON fields are readable, a bulk action asks for a reason before it changes
anything and says what it did, and axe-core finds no serious or critical violation on these pages.
Screenshots: var/screenshots/<test>/ (looked at; see the issue note)."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from catalog.models import Classification
from tests.e2e.accessibility import assert_accessible
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPES = ["varchar(255)", "timestamp with time zone", "integer", "numeric(12,2)", "boolean", "text"]


def _wide_asset():
    asset = AssetFactory(
        qualified_name="clinical.encounters_with_a_rather_long_qualified_name_for_layout",
        sensitivity="confidential",
        description="Hospital encounters, one row per visit. " * 8,
        processing_purposes=["treatment", "billing", "quality-improvement"],
        data_subject_categories=["patients"],
    )
    for i in range(30):
        column = ColumnFactory(
            asset=asset,
            position=i,
            name=f"encounter_attribute_with_long_name_{i:02d}",
            data_type=TYPES[i % len(TYPES)],
            description="A long free-text description of what this column holds. " * 4,
        )
        if i % 3 == 0:
            ClassificationFactory(column=column, entity_type="US_SOCIAL_SECURITY_NUMBER" if i % 2 else "EMAIL_ADDRESS")
    return asset


def _horizontal_overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_the_asset_change_page_with_30_columns_fits_1366_px(page_as, screenshots):
    asset = _wide_asset()
    page = page_as("steward", width=1366, height=900)

    page.goto(f"{page.custos_url}/admin/catalog/dataasset/{asset.pk}/change/")

    assert page.title() == f"{asset} | Change data asset | Custos administration"
    assert page.locator("#site-name").inner_text() == "Custos administration"
    assert page.locator("#columns-group tbody tr.form-row.has_original").count() == 30
    page.screenshot(path=str(screenshots / "asset-change-1366.png"), full_page=True)
    page.screenshot(path=str(screenshots / "asset-change-top-1366.png"))
    page.locator("#columns-group").screenshot(path=str(screenshots / "columns-inline-1366.png"))
    assert _horizontal_overflow(page) <= 0, "the asset change page scrolls sideways at 1366 px"
    for box in ("#columns-group", "#columns-group .tabular", "#columns-group table"):
        fits = page.evaluate("(el) => el.scrollWidth <= el.clientWidth", page.locator(box).element_handle())
        assert fits, f"{box} scrolls sideways at 1366 px"
    assert page.locator("#columns-group thead th", has_text="Delete?").is_visible()
    # the rest of a column (description, tags, glossary) is one link away
    link = page.locator("#columns-group a", has_text="edit column").first
    assert "/admin/catalog/column/" in link.get_attribute("href")
    # JSON lists of the Art. 30 record are an indented, validated textarea
    purposes = page.locator("textarea#id_processing_purposes")
    assert purposes.input_value().startswith('[\n  "treatment"')
    assert_accessible(page)


def _results_fit(page) -> bool:
    return page.evaluate(
        "() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; }"
    )


def test_the_asset_and_classification_changelists_are_accessible_and_fit(page_as, screenshots):
    _wide_asset()
    page = page_as("steward")
    page.goto(f"{page.custos_url}/admin/catalog/dataasset/")
    page.screenshot(path=str(screenshots / "asset-changelist-1366.png"), full_page=True)
    assert page.title() == "Select data asset to change | Custos administration"
    assert _horizontal_overflow(page) <= 0 and _results_fit(page), "the asset list scrolls sideways at 1366 px"
    assert_accessible(page)
    page.goto(f"{page.custos_url}/admin/catalog/classification/")
    page.screenshot(path=str(screenshots / "classification-changelist-1366.png"), full_page=True)
    assert _horizontal_overflow(page) <= 0 and _results_fit(page), "the classification list scrolls sideways at 1366 px"
    assert_accessible(page)


def test_machine_written_json_is_shown_pretty_and_read_only(page_as, screenshots):
    classification = ClassificationFactory(evidence={"scanner": "presidio", "hits": 41, "sampled": 500, "share": 0.082})
    page = page_as("steward")
    page.goto(f"{page.custos_url}/admin/catalog/classification/{classification.pk}/change/")
    page.screenshot(path=str(screenshots / "classification-change.png"), full_page=True)
    evidence = page.locator(".field-evidence_pretty pre.custos-json")
    shown = evidence.inner_text()
    # indented, one key per line; key order is the database's (PostgreSQL's jsonb sorts keys)
    assert shown.startswith('{\n  "') and json.loads(shown) == classification.evidence
    assert page.locator("textarea[name=evidence], input[name=evidence]").count() == 0
    assert_accessible(page)


def test_a_bulk_reject_asks_for_a_reason_then_reports_what_it_did(page_as, screenshots):
    target = ClassificationFactory(entity_type="PHONE_NUMBER")
    kept = ClassificationFactory(entity_type="EMAIL_ADDRESS")
    page = page_as("steward")
    page.goto(f"{page.custos_url}/admin/catalog/classification/")
    page.check(f"input[name=_selected_action][value='{target.pk}']")
    page.select_option("select[name=action]", "reject")
    page.click("button[name=index]")
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Reject selected classifications"
    assert "Rejecting is final" in page.locator(".custos-warning").inner_text()
    assert page.locator(".custos-selected li").count() == 1
    page.screenshot(path=str(screenshots / "confirm-reject.png"), full_page=True)
    assert_accessible(page)

    page.click("input[name=apply]")  # no reason given
    page.wait_for_load_state()
    assert "This field is required." in page.locator(".custos-confirm").inner_text()
    assert Classification.objects.get(pk=target.pk).state == "suggested"

    page.fill("textarea[name=reason]", "a ticket number, not a phone number")
    page.click("input[name=apply]")
    page.wait_for_load_state()
    page.screenshot(path=str(screenshots / "after-reject.png"), full_page=True)
    assert "Reject selected classifications: 1 changed, 0 refused." in page.locator("ul.messagelist").inner_text()
    assert Classification.objects.get(pk=target.pk).state == "rejected"
    assert Classification.objects.get(pk=kept.pk).state == "suggested"
    event = AuditEvent.objects.get(action="catalog.classification.reject")
    assert event.reason == "a ticket number, not a phone number" and event.actor_name == page.custos_user.username


def test_set_sensitivity_offers_no_preselected_level_and_the_index_is_accessible(page_as, screenshots):
    asset = AssetFactory(sensitivity="confidential")
    page = page_as("steward")
    page.goto(f"{page.custos_url}/admin/")
    assert page.title() == "Custos administration"
    assert_accessible(page)
    page.goto(f"{page.custos_url}/admin/catalog/dataasset/")
    page.check(f"input[name=_selected_action][value='{asset.pk}']")
    page.select_option("select[name=action]", "set_sensitivity")
    page.click("button[name=index]")
    page.wait_for_load_state()

    page.screenshot(path=str(screenshots / "confirm-set-sensitivity.png"), full_page=True)
    assert page.locator("select[name=sensitivity]").input_value() == ""  # nothing chosen for the steward
    assert "(now Confidential)" in page.locator(".custos-selected").inner_text()
    assert_accessible(page)
    page.fill("textarea[name=reason]", "contract ended")
    page.click("input[name=apply]")
    page.wait_for_load_state()
    assert "This field is required." in page.locator(".custos-confirm").inner_text()  # a level must be chosen
    asset.refresh_from_db()
    assert asset.sensitivity == "confidential"


def test_deleting_one_domain_asks_a_reason_and_records_it(page_as, screenshots):
    from catalog.models import Domain
    from tests.factories import DomainFactory

    domain = DomainFactory(name="Legacy marketing")
    page = page_as("steward", width=1366, height=900)

    page.goto(f"{page.custos_url}/admin/catalog/domain/{domain.pk}/delete/")
    page.screenshot(path=str(screenshots / "domain-delete-confirm.png"), full_page=True)
    assert page.locator("textarea[name=reason]").is_visible()
    assert_accessible(page)

    page.click("input[type=submit][value^='Yes']")  # no reason: nothing deleted, the page says so
    page.wait_for_load_state()
    assert page.locator(".errornote").inner_text() == "Nothing was deleted: give a reason."
    assert Domain.objects.filter(pk=domain.pk).exists()
    page.screenshot(path=str(screenshots / "domain-delete-no-reason.png"), full_page=True)

    page.fill("textarea[name=reason]", "merged into Marketing")
    page.click("input[type=submit][value^='Yes']")
    page.wait_for_load_state()
    assert "was deleted successfully" in page.locator("ul.messagelist").inner_text()
    assert not Domain.objects.filter(pk=domain.pk).exists()
    assert AuditEvent.objects.get(action="catalog.domain.delete").reason == "merged into Marketing"
