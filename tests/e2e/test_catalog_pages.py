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


# --- the catalog pages as each role (issue 18) ------------------------------------------------------


@pytest.fixture
def clinic(make_user):
    """A small catalog: a patients table (SSN labelled by a steward, email suggested by a scan),
    a copy whose email label was propagated, a restricted salaries table, a domain, a tag, a term."""
    from catalog.models import Domain, Tag
    from tests.factories import ClassificationFactory, MLModelFactory, SourceFactory

    admin = make_user("admin", username="root")
    domain = Domain.objects.create(name="Clinical", description="Care delivery data", owner=admin)
    tag = Tag.objects.create(name="phi", description="Protected health information")
    term = services.glossary_term_create(actor=admin, name="Patient", description="A person receiving care.", domain=domain)
    source = SourceFactory(name="clinic-db")
    patients = AssetFactory(
        source=source,
        qualified_name="clinical.patients",
        description="One row per patient",
        sensitivity="confidential",
        domain=domain,
    )
    patients.tags.add(tag)
    patients.glossary_terms.add(term)
    columns = {}
    for i, name in enumerate(["patient_id", "ssn", "email", "date_of_birth", "blood_type", "ward", "admitted_at"]):
        columns[name] = ColumnFactory(asset=patients, name=name, position=i, data_type="text" if i else "bigint")
    services.classification_assign(
        column=columns["ssn"], entity_type="US_SSN", actor=admin, sensitivity="confidential", reason="intake form"
    )
    scan = ClassificationFactory(
        column=columns["email"],
        entity_type="EMAIL_ADDRESS",
        source="scan",
        evidence={"scan_run": 3, "share": 0.97, "recognizers": ["EmailRecognizer"], "sampled": 500, "nonnull": 498},
    )
    copy = AssetFactory(source=source, qualified_name="mart.patient_contacts", domain=domain, description="Contact list")
    copy_email = ColumnFactory(asset=copy, name="contact_email", position=0)
    ClassificationFactory(
        column=copy_email,
        entity_type="EMAIL_ADDRESS",
        source="propagated",
        evidence={
            "origin": {"classification_id": scan.pk, "column_id": columns["email"].pk, "source": "scan", "state": "suggested"},
            "path": [columns["email"].pk, copy_email.pk],
            "edges": [12],
        },
    )
    secret = AssetFactory(source=source, qualified_name="hr.salaries", sensitivity="restricted", domain=domain)
    MLModelFactory(name="readmission-risk", domain=domain, owner=admin)
    return {"patients": patients, "copy": copy, "secret": secret, "domain": domain, "tag": tag, "term": term, "columns": columns}


def test_a_steward_finds_a_column_by_keyboard_and_lands_on_it(page_as, clinic, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as("steward", username="stella")
    page.goto(page.custos_url + "/")
    page.screenshot(path=str(screenshots / "home.png"), full_page=True)
    assert_accessible(page)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("blood")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "column" in page.locator("ul.hits li").first.inner_text()
    page.screenshot(path=str(screenshots / "search.png"), full_page=True)
    assert_accessible(page)
    page.locator("#q").focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "blood_type"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    column = clinic["columns"]["blood_type"]
    assert page.url.endswith(f"#column-{column.pk}")
    row = page.locator(f"#column-{column.pk}")
    assert row.is_visible() and "target" in (row.get_attribute("class") or "")
    assert page.locator("#tab-schema").get_attribute("aria-selected") == "true"
    page.screenshot(path=str(screenshots / "asset-at-column.png"))
    assert_accessible(page)


def test_tab_from_the_search_box_reaches_a_skip_link_past_the_facets_to_the_results(page_as, clinic, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as("steward", username="stella")
    page.goto(page.custos_url + "/search/?q=patient")
    skip = page.locator("a.skip-results")
    assert not skip.is_visible() or skip.bounding_box()["x"] < 0  # off-screen until focused
    page.locator("#q").focus()
    page.keyboard.press("Tab")  # the Search button
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-results"
    box = skip.bounding_box()
    assert box["x"] >= 0 and box["width"] > 0, "the skip link is not shown when focused"
    page.screenshot(path=str(screenshots / "skip-link-focused.png"))
    facets_first = page.evaluate(
        "document.querySelector('a.skip-results').compareDocumentPosition(document.querySelector('aside.facets'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert facets_first, "the skip link must come before the facets it skips"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results-heading"
    page.keyboard.press("Tab")
    inside = page.evaluate("!!document.activeElement.closest('.results') && !document.activeElement.closest('.facets')")
    assert inside, "the next Tab after the skip link lands in the results, not the facets"
    page.screenshot(path=str(screenshots / "after-skip.png"))
    assert_accessible(page)
    page.goto(page.custos_url + "/")  # the asset list (no query) has the same link
    page.locator("#q").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results-heading"
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('.results')")


def test_a_steward_reads_label_provenance_and_walks_the_tabs_by_keyboard(page_as, clinic, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as("steward")
    page.goto(page.custos_url + f"/assets/{clinic['copy'].pk}/")
    how = page.locator("tr", has_text="contact_email").locator(".how").inner_text()
    assert "propagated from clinical.patients.email (scan label) over 1 lineage hop, edge #12" in how
    page.goto(page.custos_url + f"/assets/{clinic['patients'].pk}/")
    assert "scan run #3: 97% of 500 sampled values" in page.locator("tr", has_text="email").first.inner_text()
    page.screenshot(path=str(screenshots / "schema.png"), full_page=True)
    page.fill("#column-filter", "ssn")
    assert page.locator("table.schema tbody tr:visible").count() == 1
    page.fill("#column-filter", "")
    page.locator("#tab-schema").focus()
    page.keyboard.press("ArrowRight")
    assert page.locator("#tab-about").get_attribute("aria-selected") == "true"
    assert page.locator("#about").is_visible() and not page.locator("#schema").is_visible()
    page.keyboard.press("ArrowRight")
    assert page.locator("#history").is_visible()
    page.screenshot(path=str(screenshots / "history-steward.png"), full_page=True)
    assert_accessible(page)
    tabs = page.locator("[role=tab]").all_inner_texts()
    assert tabs[:3] == ["Schema 7", "About", "History"]
    for i in range(3, len(tabs)):  # every registered panel is reachable and passes axe
        page.keyboard.press("ArrowRight")
        page.screenshot(path=str(screenshots / f"panel-{i}.png"), full_page=True)
        assert_accessible(page)


def test_a_steward_fixes_an_owner_and_edits_the_description_in_place(page_as, clinic, make_user, screenshots):
    """The owners picker: search by name, keyboard to choose, remove a chip, save with a reason."""
    from playwright.sync_api import expect

    from tests.e2e.accessibility import assert_accessible

    make_user("viewer", username="olga", first_name="Olga", last_name="Berg")
    make_user("viewer", username="oscar")
    make_user("viewer", username="olive", is_active=False)
    page = page_as("steward", username="stella")
    patients = clinic["patients"]
    patients.owners.add(make_user("viewer", username="former"))
    page.goto(page.custos_url + f"/assets/{patients.pk}/#about")
    assert page.locator("#about").is_visible()
    page.locator("summary", has_text="Edit owners").click()
    assert not page.locator("#edit-owners").is_visible()  # the plain list is what the picker fills in
    picker = page.locator("#about [data-picker]").first
    assert picker.locator(".chip span").all_inner_texts() == ["former"]
    find = picker.get_by_role("combobox")
    find.fill("berg")  # by last name
    expect(picker.get_by_role("option")).to_have_count(1)  # the answer for "berg", not the one on focus
    option = picker.get_by_role("option", name="olga")
    page.screenshot(path=str(screenshots / "owners-picker-search.png"), full_page=True)
    assert_accessible(page)
    find.press("ArrowDown")
    assert option.get_attribute("aria-selected") == "true" and find.get_attribute(
        "aria-activedescendant"
    ) == option.get_attribute("id")
    find.press("Enter")
    assert picker.locator(".chip span").all_inner_texts() == ["former", "olga"]
    find.fill("ol")  # the inactive olive is never offered, olga is chosen already
    page.locator("text=No active user matches.").wait_for()
    picker.get_by_role("button", name="Remove owner former").click()
    assert picker.locator(".chip span").all_inner_texts() == ["olga"]
    assert page.locator("#edit-owners").input_value() == "olga"
    page.fill("#reason-owners", "Olga runs the clinic system")
    page.screenshot(path=str(screenshots / "edit-owners.png"), full_page=True)
    assert_accessible(page)
    page.locator("button", has_text="Save owners").click()
    page.locator("#about .messages", has_text="Saved owners.").wait_for()
    assert page.locator("#about dd", has_text="olga").first.is_visible()
    assert page.url.endswith("#about")  # htmx swapped the section in place
    page.locator("summary", has_text="Edit owners").click()
    assert page.locator("#about [data-picker] .chip span").first.inner_text() == "olga"  # the swapped section is enhanced again
    page.locator("summary", has_text="Edit description").click()
    page.fill("#edit-description", "Patients of the clinic, one row each")
    page.locator("button", has_text="Save description").click()
    page.locator("#about .messages", has_text="Saved description.").wait_for()
    assert page.locator("#asset-lead").inner_text() == "Patients of the clinic, one row each"  # the header follows
    page.screenshot(path=str(screenshots / "edited.png"), full_page=True)
    assert_accessible(page)
    patients.refresh_from_db()
    assert patients.description == "Patients of the clinic, one row each"
    assert [u.username for u in patients.owners.all()] == ["olga"]
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="catalog.asset.set_owners").latest("pk")
    assert event.reason == "Olga runs the clinic system" and event.actor_name == "stella"


def test_a_steward_adds_a_steward_by_keyboard_and_sets_sensitivity_and_legal_basis(page_as, clinic, make_user, screenshots):
    from playwright.sync_api import expect

    from audit.models import AuditEvent
    from tests.e2e.accessibility import assert_accessible

    make_user("steward", username="sam", first_name="Samira")
    page = page_as("steward", username="stella")
    patients = clinic["patients"]
    page.goto(page.custos_url + f"/assets/{patients.pk}/#about")
    page.locator("summary", has_text="Edit stewards").click()
    picker = page.locator("#about [data-picker]").nth(1)
    find = picker.get_by_role("combobox")
    find.fill("samira")
    expect(picker.get_by_role("option")).to_have_count(1)
    find.press("ArrowDown")
    find.press("Enter")
    assert picker.locator(".chip span").all_inner_texts() == ["sam"]
    find.press("Tab")  # on to the reason
    page.keyboard.type("Samira curates clinical data")
    page.keyboard.press("Enter")  # submits the stewards form
    page.locator("#about .messages", has_text="Saved stewards.").wait_for()
    assert [u.username for u in patients.stewards.all()] == ["sam"]

    page.locator("summary", has_text="Edit sensitivity").click()
    page.select_option("#edit-sensitivity", "restricted")
    page.locator("button", has_text="Save sensitivity").click()  # no reason yet: the browser asks for one
    assert page.evaluate("document.querySelector('#reason-sensitivity').validity.valueMissing")
    page.fill("#reason-sensitivity", "diagnoses are special category data")
    page.screenshot(path=str(screenshots / "edit-sensitivity.png"), full_page=True)
    assert_accessible(page)
    page.locator("button", has_text="Save sensitivity").click()
    page.locator("#about .messages", has_text="Saved sensitivity.").wait_for()
    assert page.locator("#asset-sens").text_content().strip() == "restricted"  # the header badge follows
    page.locator("summary", has_text="Edit legal basis").click()
    page.select_option("#edit-legal-basis", "contract")
    page.fill("#reason-legal-basis", "treatment contract")
    page.locator("button", has_text="Save legal basis").click()
    page.locator("#about .messages", has_text="Saved legal basis.").wait_for()
    assert page.locator("#about dd", has_text="Contract (Art. 6(1)(b))").is_visible()
    page.locator("summary", has_text="Edit sensitivity").click()
    page.select_option("#edit-sensitivity", "public")  # below the confirmed SSN label's level
    page.fill("#reason-sensitivity", "open data")
    page.locator("button", has_text="Save sensitivity").click()
    page.locator("#about .messages", has_text="may not be below confidential").wait_for()
    page.screenshot(path=str(screenshots / "decided.png"), full_page=True)
    assert_accessible(page)
    patients.refresh_from_db()
    assert (patients.sensitivity, patients.legal_basis) == ("restricted", "contract")
    decided = AuditEvent.objects.get(action="catalog.asset.decide", reason="treatment contract")
    assert decided.details["decided"] == ["legal_basis"] and decided.actor_name == "stella"


def test_a_steward_picks_tags_and_glossary_terms_in_place(page_as, clinic, screenshots):
    """The tag and term pickers offer existing ones only (by name, keyboard to choose), chips can
    be removed, and saving goes through asset_update with the reason in the ledger."""
    from playwright.sync_api import expect

    from accounts.models import User
    from audit.models import AuditEvent
    from catalog.models import Tag
    from tests.e2e.accessibility import assert_accessible

    Tag.objects.create(name="gdpr-art9", description="Special category data")
    Tag.objects.create(name="gdpr, legacy")  # a name with a comma cannot round-trip: never offered
    root = User.objects.get(username="root")
    services.glossary_term_create(actor=root, name="Diagnosis", description="A condition identified by a clinician.")
    page = page_as("steward", username="stella")
    patients = clinic["patients"]
    page.goto(page.custos_url + f"/assets/{patients.pk}/#about")
    page.locator("summary", has_text="Edit tags").click()
    assert not page.locator("#edit-tags").is_visible()  # the plain list is what the picker fills in
    picker = page.locator("#about [data-picker][data-what=tag]")
    assert picker.locator(".chip span").all_inner_texts() == ["phi"]
    find = picker.get_by_role("combobox", name="Add a tag (search by name)")
    find.fill("gdpr")
    expect(picker.get_by_role("option")).to_have_count(2)  # the existing tag, then "create" (no exact match)
    assert picker.get_by_role("option").first.inner_text().startswith("gdpr-art9")
    assert picker.get_by_role("option").last.inner_text() == "Create tag \u201cgdpr\u201d"
    page.locator("text=1 match, or create \u201cgdpr\u201d; arrow keys to choose, Enter to add.").wait_for()
    assert picker.get_by_role("listbox").get_attribute("aria-label") == "Matching tags"
    page.screenshot(path=str(screenshots / "tag-picker-search.png"), full_page=True)
    assert_accessible(page)
    find.press("ArrowDown")
    find.press("Enter")
    picker.get_by_role("button", name="Remove tag phi").click()
    assert picker.locator(".chip span").all_inner_texts() == ["gdpr-art9"]
    assert page.locator("#edit-tags").input_value() == "gdpr-art9"
    find.fill("gdpr, legacy")  # a comma would split the name: not even offered for creation
    page.locator("text=No tag matches.").wait_for()
    find.fill("oncology")  # no such tag: a steward (who may add) is offered to create it
    create = picker.get_by_role("option", name="Create tag \u201concology\u201d")
    expect(create).to_have_count(1)
    find.press("ArrowDown")
    find.press("Enter")
    assert picker.locator(".chip span").all_inner_texts() == ["gdpr-art9", "oncology"]
    page.fill("#reason-tags", "holds diagnoses")
    page.locator("button", has_text="Save tags").click()
    page.locator("#about .messages", has_text="Saved tags.").wait_for()
    assert [t.name for t in patients.tags.all()] == ["gdpr-art9", "oncology"]

    page.locator("summary", has_text="Edit glossary terms").click()
    terms = page.locator("#about [data-picker][data-what='glossary term']")
    assert terms.locator(".chip span").all_inner_texts() == ["Patient"]
    find = terms.get_by_role("combobox", name="Add a glossary term (search by name)")
    find.fill("diag")
    option = terms.get_by_role("option")
    expect(option).to_have_count(1)
    assert "A condition identified" in option.inner_text()  # the definition, to pick the right one
    find.press("ArrowDown")
    find.press("Enter")
    assert terms.locator(".chip span").all_inner_texts() == ["Patient", "Diagnosis"]
    page.fill("#reason-glossary", "diagnosis codes per visit")
    page.screenshot(path=str(screenshots / "term-picker-chosen.png"), full_page=True)
    assert_accessible(page)
    page.locator("button", has_text="Save glossary terms").click()
    page.locator("#about .messages", has_text="Saved glossary terms.").wait_for()
    assert sorted(t.name for t in patients.glossary_terms.all()) == ["Diagnosis", "Patient"]
    assert page.locator("#about a.badge.term", has_text="Diagnosis").is_visible()
    page.screenshot(path=str(screenshots / "labels-saved.png"), full_page=True)
    assert_accessible(page)
    saved = AuditEvent.objects.filter(action="catalog.asset.update", actor_name="stella").order_by("pk")
    assert [e.reason for e in saved] == ["holds diagnoses", "diagnosis codes per visit"]


@pytest.mark.parametrize("role", ["auditor", "service"])
def test_sensitivity_and_legal_basis_are_read_only_for_other_roles(page_as, clinic, screenshots, role):
    from tests.e2e.accessibility import assert_accessible

    page = page_as(role)
    patients = clinic["patients"]
    page.goto(page.custos_url + f"/assets/{patients.pk}/#about")
    assert page.locator("#about dt", has_text="Sensitivity").is_visible()
    assert page.locator("summary", has_text="Edit sensitivity").count() == 0
    assert page.locator("summary", has_text="Edit legal basis").count() == 0
    assert page.locator("summary", has_text="Edit owners").count() == (1 if role == "service" else 0)
    page.screenshot(path=str(screenshots / f"about-{role}.png"), full_page=True)
    assert_accessible(page)
    token = page.evaluate("document.cookie.match(/csrftoken=([^;]+)/)[1]")
    forged = page.request.post(
        page.custos_url + f"/assets/{patients.pk}/edit/",
        form={"field": "legal_basis", "value": "consent", "reason": "forged"},
        headers={"X-CSRFToken": token, "Referer": page.custos_url + "/"},
    )
    assert forged.status == 403
    patients.refresh_from_db()
    assert patients.legal_basis == ""


def test_a_viewer_reads_but_cannot_edit_and_never_sees_a_restricted_asset(page_as, clinic, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as("viewer")
    patients = clinic["patients"]
    page.goto(page.custos_url + f"/assets/{patients.pk}/#about")
    assert page.locator("#about").is_visible()
    assert page.locator("details.edit").count() == 0 and page.locator("#about form").count() == 0
    page.screenshot(path=str(screenshots / "about-viewer.png"), full_page=True)
    assert_accessible(page)
    token = page.evaluate("document.cookie.match(/csrftoken=([^;]+)/)[1]")
    forged = page.request.post(
        page.custos_url + f"/assets/{patients.pk}/edit/",
        form={"field": "description", "value": "forged"},
        headers={"X-CSRFToken": token, "Referer": page.custos_url + "/"},
    )
    assert forged.status == 403 and "viewer may not change assets" in forged.text()
    patients.refresh_from_db()
    assert patients.description == "One row per patient"
    hidden = page.goto(page.custos_url + f"/assets/{clinic['secret'].pk}/")
    assert hidden.status == 404
    page.goto(page.custos_url + "/search/?q=salar")
    assert "0 results" in page.locator("h2#results-heading").inner_text()
    page.screenshot(path=str(screenshots / "search-viewer.png"), full_page=True)
    assert_accessible(page)


def test_an_auditor_reads_the_ledger_history_of_an_asset(page_as, clinic, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as("auditor")
    page.goto(page.custos_url + f"/assets/{clinic['patients'].pk}/#history")
    history = page.locator("#history")
    assert history.is_visible() and "From the audit ledger" in history.inner_text()
    assert "catalog.classification.confirm" in history.inner_text() and "intake form" in history.inner_text()
    assert page.locator("details.edit").count() == 0
    page.screenshot(path=str(screenshots / "history-auditor.png"), full_page=True)
    assert_accessible(page)


@pytest.mark.parametrize("role", ["steward", "viewer"])
def test_glossary_domain_tag_and_people_pages(page_as, clinic, role, screenshots):
    from tests.e2e.accessibility import assert_accessible

    page = page_as(role)
    page.goto(page.custos_url + f"/assets/{clinic['patients'].pk}/#about")
    with page.expect_navigation():
        page.locator("#about a", has_text="Patient").click()
    assert page.locator("h1").inner_text().startswith("Patient")
    assert "A person receiving care." in page.locator(".definition").inner_text()
    page.screenshot(path=str(screenshots / "glossary.png"), full_page=True)
    assert_accessible(page)
    with page.expect_navigation():
        page.locator(".crumbs a", has_text="Clinical").click()
    body = page.locator("main").inner_text()
    assert "clinical.patients" in body and "readmission-risk" in body
    assert ("hr.salaries" in body) == (role == "steward")  # restricted: stewards see it, viewers never
    page.screenshot(path=str(screenshots / "domain.png"), full_page=True)
    assert_accessible(page)
    page.goto(page.custos_url + f"/tags/{clinic['tag'].pk}/")
    assert "clinical.patients" in page.locator("main").inner_text()
    page.screenshot(path=str(screenshots / "tag.png"), full_page=True)
    assert_accessible(page)
    page.goto(page.custos_url + "/")
    with page.expect_navigation():
        page.locator("a", has_text="My assets").click()
    assert page.locator("h1").inner_text() == "My assets"
    page.screenshot(path=str(screenshots / "me.png"), full_page=True)
    assert_accessible(page)
    page.goto(page.custos_url + "/people/root/")
    assert "readmission-risk" in page.locator("main").inner_text()
    assert_accessible(page)
