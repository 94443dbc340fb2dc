"""Catalog pages on the Django test client: search with facets, the asset page (tabs, label
provenance, in-place edits through services, history), glossary term, domain, tag and people
pages. Scoping is the API's; query counts are bounded whatever the size of the catalog."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from catalog import services
from catalog.models import Classification, DataAsset
from tests.factories import (
    AssetFactory,
    ClassificationFactory,
    ColumnFactory,
    DomainFactory,
    MLModelFactory,
    SourceFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward(make_user):
    return make_user("steward", username="stella")


@pytest.fixture
def viewer(make_user):
    return make_user("viewer", username="vic")


@pytest.fixture
def catalog(steward):
    """Two sources, a domain, tags and a glossary term; a patients table with an SSN column a
    steward labelled, an email column a scan suggested, and a copy whose email label was
    propagated from it; a restricted table; a model."""
    src, other = SourceFactory(name="clinic-db"), SourceFactory(name="lake")
    domain = DomainFactory(name="Clinical", owner=steward)
    pii_tag = TagFactory(name="phi")
    term = services.glossary_term_create(actor=steward, name="Patient", description="A person receiving care", domain=domain)
    patients = AssetFactory(
        source=src,
        qualified_name="clinical.patients",
        description="One row per patient",
        domain=domain,
        sensitivity="confidential",
    )
    patients.owners.add(steward)
    patients.tags.add(pii_tag)
    patients.glossary_terms.add(term)
    ssn = ColumnFactory(asset=patients, name="ssn", position=0)
    email = ColumnFactory(asset=patients, name="email", position=1)
    services.classification_assign(column=ssn, entity_type="US_SSN", actor=steward, sensitivity="confidential", reason="HR form")
    scan = ClassificationFactory(
        column=email,
        entity_type="EMAIL_ADDRESS",
        source="scan",
        evidence={"scan_run": 7, "share": 0.93, "recognizers": ["EmailRecognizer"], "sampled": 1000, "nonnull": 990},
    )
    copy = AssetFactory(source=other, qualified_name="mart.patient_copy", domain=domain)
    copy_email = ColumnFactory(asset=copy, name="email_address", position=0)
    ClassificationFactory(
        column=copy_email,
        entity_type="EMAIL_ADDRESS",
        source="propagated",
        evidence={
            "origin": {"classification_id": scan.pk, "column_id": email.pk, "source": "scan", "state": "suggested"},
            "path": [email.pk, copy_email.pk],
            "edges": [41],
        },
    )
    secret = AssetFactory(source=src, qualified_name="hr.salaries", sensitivity="restricted", domain=domain)
    secret.tags.add(pii_tag)
    ColumnFactory(asset=secret, name="patient_salary")
    MLModelFactory(name="readmission-risk", domain=domain, owner=steward)
    return {"patients": patients, "copy": copy, "secret": secret, "term": term, "domain": domain, "tag": pii_tag, "email": email}


def _grow(n_assets: int, columns: int = 3) -> None:
    src = SourceFactory()
    for i in range(n_assets):
        asset = AssetFactory(
            source=src, qualified_name=f"bulk{src.pk}.patient_{i}", domain=DomainFactory(), sensitivity="internal"
        )
        asset.tags.add(TagFactory())
        for p in range(columns):
            ClassificationFactory(column=ColumnFactory(asset=asset, name=f"c{p}", position=p))


def _count(client, url) -> int:
    """Queries of a GET of ``url`` once per-process caches (e.g. other apps' panels) are warm."""
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# --- search ---------------------------------------------------------------------------------------


def test_search_links_every_hit_and_counts_facets(client, steward, catalog):
    client.force_login(steward)
    html = client.get(reverse("catalog:search"), {"q": "patient"}).content.decode()
    patients, email = catalog["patients"], catalog["email"]
    assert f'href="{reverse("catalog:asset", args=[patients.pk])}"' in html
    assert f'href="{reverse("catalog:glossary_term", args=[catalog["term"].pk])}"' in html
    # a column hit opens its asset at the column
    column_hit = ColumnFactory(asset=patients, name="patient_id")
    html = client.get(reverse("catalog:search"), {"q": "patient_id"}).content.decode()
    assert f'{reverse("catalog:asset", args=[patients.pk])}#column-{column_hit.pk}"' in html
    # facets count the matching assets: three "patient" assets (the restricted one too, for a steward)
    response = client.get(reverse("catalog:search"), {"q": "patient"})
    facets = {g["name"]: {v["label"]: v["count"] for v in g["values"]} for g in response.context["facets"]}
    assert facets["domain"] == {"Clinical": 2} and facets["source"] == {"clinic-db": 1, "lake": 1}
    assert facets["entity_type"] == {"EMAIL_ADDRESS": 2, "US_SSN": 1}
    assert facets["owner"] == {"stella": 1} and facets["tag"] == {"phi": 1}
    assert email.pk  # the email column is a hit of q=email below
    assert "email" in client.get(reverse("catalog:search"), {"q": "email", "type": "column"}).content.decode()


def test_a_facet_narrows_asset_and_column_hits_and_the_link_toggles_it(client, steward, catalog):
    client.force_login(steward)
    response = client.get(reverse("catalog:search"), {"q": "email", "source": str(catalog["copy"].source_id)})
    kinds = {h.type for h in response.context["hits"]}
    names = {h.name for h in response.context["hits"] if h.type == "column"}
    assert names == {"email_address"} and "column" in kinds
    source = next(g for g in response.context["facets"] if g["name"] == "source")
    applied = [v for v in source["values"] if v["on"]]
    assert len(applied) == 1 and "source=" not in applied[0]["href"]  # following it removes the filter


def test_without_a_query_the_page_lists_assets_and_multi_value_facets_combine(client, steward, catalog):
    client.force_login(steward)
    response = client.get(reverse("catalog:search"), {"sensitivity": ["confidential", "restricted"]})
    assert {a.qualified_name for a in response.context["assets"]} == {"clinical.patients", "hr.salaries"}
    assert reverse("catalog:home") == "/"
    assert client.get(reverse("catalog:home")).status_code == 200


def test_a_viewer_never_sees_a_restricted_asset_in_hits_or_facet_counts(client, viewer, catalog):
    client.force_login(viewer)
    response = client.get(reverse("catalog:search"), {"q": "salar"})
    assert response.context["total"] == 0
    response = client.get(reverse("catalog:search"), {"tag": str(catalog["tag"].pk)})
    assert [a.qualified_name for a in response.context["assets"]] == ["clinical.patients"]
    tags = next(g for g in response.context["facets"] if g["name"] == "tag")
    assert [(v["label"], v["count"]) for v in tags["values"]] == [("phi", 1)]


def test_a_bad_filter_value_is_refused_without_repeating_it(client, steward, catalog):
    client.force_login(steward)
    html = client.get(reverse("catalog:search"), {"sensitivity": "jane.doe@example.org"}).content.decode()
    assert "Not one of the allowed values." in html and "jane.doe@example.org" not in html


def test_search_queries_are_bounded_whatever_the_catalog_size(client, steward, catalog, django_assert_max_num_queries):
    client.force_login(steward)
    urls = [
        reverse("catalog:search") + "?q=patient",
        reverse("catalog:search") + "?q=patient&type=column",
        reverse("catalog:search") + f"?domain={catalog['domain'].pk}&sensitivity=internal&sensitivity=confidential",
    ]
    # a type with more hits than the page shows costs one (capped) count more: grow past that first
    _grow(25)
    small = [_count(client, url) for url in urls]
    _grow(25)
    assert [_count(client, url) for url in urls] == small
    for url in urls:
        with django_assert_max_num_queries(30):
            client.get(url)


# --- asset page -----------------------------------------------------------------------------------


def test_the_schema_tab_says_where_each_label_came_from(client, steward, catalog):
    client.force_login(steward)
    html = client.get(reverse("catalog:asset", args=[catalog["copy"].pk])).content.decode()
    email = catalog["email"]
    assert "EMAIL_ADDRESS · propagated · suggested" in html
    assert f'{reverse("catalog:asset", args=[email.asset_id])}#column-{email.pk}">clinical.patients.email</a>' in html
    assert "over 1 lineage hop, edge #41" in html
    html = client.get(reverse("catalog:asset", args=[catalog["patients"].pk])).content.decode()
    assert "scan run #7: 93% of 1000 sampled values (EmailRecognizer)" in html
    assert "US_SSN · steward · confirmed" in html and "confirmed by <a" in html and "HR form" in html
    assert 'id="column-' in html and 'role="tab"' not in html  # tab roles come with the script, not without it


def test_a_propagated_label_from_a_column_the_reader_cannot_see_does_not_name_it(client, steward, viewer, catalog):
    services.asset_update(asset=catalog["patients"], actor=steward, sensitivity="restricted")
    client.force_login(viewer)
    html = client.get(reverse("catalog:asset", args=[catalog["copy"].pk])).content.decode()
    assert "propagated from a column you cannot see" in html and "clinical.patients" not in html


def test_a_restricted_asset_is_404_for_a_viewer_on_every_asset_url(client, viewer, catalog):
    client.force_login(viewer)
    secret = catalog["secret"]
    assert client.get(reverse("catalog:asset", args=[secret.pk])).status_code == 404
    post = client.post(reverse("catalog:asset_edit", args=[secret.pk]), {"field": "description", "value": "x"})
    assert post.status_code == 404


def test_the_asset_page_shows_the_registered_panels_as_tabs(client, steward, catalog):
    client.force_login(steward)
    response = client.get(reverse("catalog:asset", args=[catalog["patients"].pk]))
    keys = [key for key, _ in response.context["tabs"]]
    assert keys[:3] == ["schema", "about", "history"]
    for panel in response.context["panels"]:
        assert f'id="panel-{panel["key"]}"' in response.content.decode()


def test_asset_page_queries_do_not_grow_with_columns_or_labels(client, steward, catalog, django_assert_max_num_queries):
    client.force_login(steward)
    patients = catalog["patients"]
    url = reverse("catalog:asset", args=[patients.pk])

    def add_columns(start, n):
        for p in range(start, start + n):
            column = ColumnFactory(asset=patients, name=f"extra_{p}", position=10 + p)
            column.tags.add(catalog["tag"])
            origin = {"origin": {"column_id": catalog["email"].pk}, "path": [catalog["email"].pk, column.pk]}
            ClassificationFactory(column=column, source="propagated", evidence=origin)

    add_columns(0, 2)
    before = _count(client, url)
    add_columns(2, 40)
    assert _count(client, url) == before
    with django_assert_max_num_queries(40):
        client.get(url)


def test_a_steward_fixes_an_owner_and_edits_the_description_through_services(client, steward, make_user, catalog):
    owner = make_user("viewer", username="olga")
    patients = catalog["patients"]
    client.force_login(steward)
    url = reverse("catalog:asset_edit", args=[patients.pk])
    response = client.post(url, {"field": "owners", "value": "olga", "reason": "Olga runs the clinic system"})
    assert response.status_code == 302 and response["Location"].endswith("#about")
    assert list(patients.owners.all()) == [owner]
    event = AuditEvent.objects.filter(action="catalog.asset.set_owners", target_id=str(patients.pk)).get()
    assert event.actor_id == str(steward.pk) and event.reason == "Olga runs the clinic system"
    client.post(url, {"field": "description", "value": "Patients of the clinic, one row each"})
    patients.refresh_from_db()
    assert patients.description == "Patients of the clinic, one row each"
    assert AuditEvent.objects.filter(action="catalog.asset.update", target_id=str(patients.pk)).exists()
    page = client.get(reverse("catalog:asset", args=[patients.pk])).content.decode()
    assert "Saved description." in page


def test_tags_terms_domain_and_purposes_are_edited_in_place(client, steward, catalog):
    patients = catalog["patients"]
    client.force_login(steward)
    url = reverse("catalog:asset_edit", args=[patients.pk])
    assert client.post(url, {"field": "tags", "value": "phi, billing"}).status_code == 302
    assert sorted(t.name for t in patients.tags.all()) == ["billing", "phi"]
    assert client.post(url, {"field": "glossary_terms", "value": ""}).status_code == 302
    assert not patients.glossary_terms.exists()
    assert client.post(url, {"field": "domain", "domain": ""}).status_code == 302
    assert client.post(url, {"field": "processing_purposes", "value": "care\nbilling\ncare"}).status_code == 302
    patients.refresh_from_db()
    assert patients.domain is None and patients.processing_purposes == ["care", "billing"]


def test_an_unknown_name_is_refused_without_repeating_it(client, steward, catalog):
    client.force_login(steward)
    url = reverse("catalog:asset_edit", args=[catalog["patients"].pk])
    response = client.post(url, {"field": "owners", "value": "stella, jane.doe@example.org"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "1 of the names is not an active user." in html and "jane.doe@example.org" not in html
    assert list(catalog["patients"].owners.all()) == [catalog["patients"].owners.get()]


def test_an_htmx_edit_answers_with_the_about_section_and_its_outcome(client, steward, catalog):
    client.force_login(steward)
    response = client.post(
        reverse("catalog:asset_edit", args=[catalog["patients"].pk]),
        {"field": "stewards", "value": "stella"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("{#") is False
    assert '<section id="about"' in html and "Saved stewards." in html and "<html" not in html


def test_a_viewer_gets_no_edit_controls_and_a_forged_post_is_refused(client, viewer, catalog):
    client.force_login(viewer)
    patients = catalog["patients"]
    html = client.get(reverse("catalog:asset", args=[patients.pk])).content.decode()
    assert "Edit description" not in html and 'name="field"' not in html
    response = client.post(reverse("catalog:asset_edit", args=[patients.pk]), {"field": "description", "value": "hacked"})
    assert response.status_code == 403
    assert "Not changed: viewer may not change assets." in response.content.decode()
    patients.refresh_from_db()
    assert patients.description == "One row per patient"
    htmx = client.post(
        reverse("catalog:asset_edit", args=[patients.pk]), {"field": "tags", "value": "brand-new"}, HTTP_HX_REQUEST="true"
    )
    assert "Not changed: viewer may not change assets." in htmx.content.decode()
    assert not patients.tags.filter(name="brand-new").exists()


def test_an_edit_needs_a_login_and_a_post(client, catalog, viewer):
    url = reverse("catalog:asset_edit", args=[catalog["patients"].pk])
    assert client.post(url, {"field": "description", "value": "x"}).status_code == 302  # to the login page
    client.force_login(viewer)
    assert client.get(url).status_code == 405


def test_history_is_the_ledger_for_an_auditor_and_row_changes_for_others(client, steward, make_user, catalog):
    patients = catalog["patients"]
    services.asset_update(asset=patients, actor=steward, description="changed", reason="typo")
    client.force_login(make_user("auditor", username="audrey"))
    response = client.get(reverse("catalog:asset", args=[patients.pk]))
    assert response.context["history_kind"] == "ledger"
    entries = response.context["history"]
    assert entries[0].who == "stella" and entries[0].what == "catalog.asset.update" and entries[0].reason == "typo"
    assert any(e.target == "label US_SSN on ssn" and e.what == "catalog.classification.confirm" for e in entries)
    client.force_login(steward)
    response = client.get(reverse("catalog:asset", args=[patients.pk]))
    assert response.context["history_kind"] == "rows"
    assert response.context["history"][0].fields == ("description",)
    assert "stella" not in [e.who for e in response.context["history"]]  # row history does not say who


# --- glossary term, domain, tag, people ---------------------------------------------------------


@pytest.mark.parametrize("page", ["glossary_term", "domain", "tag", "person"])
def test_browse_pages_list_only_what_the_reader_may_see_in_bounded_queries(
    page, client, viewer, catalog, django_assert_max_num_queries
):
    catalog["secret"].glossary_terms.add(catalog["term"])
    catalog["secret"].owners.add(catalog["patients"].owners.get())
    arg = {
        "glossary_term": catalog["term"].pk,
        "domain": catalog["domain"].pk,
        "tag": catalog["tag"].pk,
        "person": "stella",
    }[page]
    url = reverse(f"catalog:{page}", args=[arg])
    client.force_login(viewer)
    html = client.get(url).content.decode()
    assert "clinical.patients" in html and "hr.salaries" not in html
    small = _count(client, url)
    for asset in DataAsset.objects.all():
        asset.glossary_terms.add(catalog["term"])
    _grow(20)
    for asset in DataAsset.objects.filter(qualified_name__startswith="bulk"):
        asset.domain = catalog["domain"]
        asset.save()
        asset.tags.add(catalog["tag"])
        asset.glossary_terms.add(catalog["term"])
        asset.owners.add(catalog["patients"].owners.get())
    assert _count(client, url) == small
    with django_assert_max_num_queries(25):
        client.get(url)


def test_my_page_lists_the_assets_i_own_and_steward(client, steward, catalog):
    catalog["copy"].stewards.add(steward)
    client.force_login(steward)
    response = client.get(reverse("catalog:person", args=["stella"]))
    html = response.content.decode()
    assert "<h1>My assets</h1>" in html and "Assets I steward" in html
    assert [a.qualified_name for a in response.context["owned"]["rows"]] == ["clinical.patients"]
    assert [a.qualified_name for a in response.context["stewarded"]["rows"]] == ["mart.patient_copy"]
    assert "readmission-risk" in html


def test_a_tag_is_found_by_id_or_name_and_unknown_pages_are_404(client, viewer, catalog):
    client.force_login(viewer)
    assert client.get(reverse("catalog:tag", args=["phi"])).status_code == 200
    assert client.get(reverse("catalog:tag", args=["nope"])).status_code == 404
    assert client.get(reverse("catalog:person", args=["nobody"])).status_code == 404
    assert client.get(reverse("catalog:glossary_term", args=[999999])).status_code == 404


def test_the_asset_page_links_its_domain_tags_terms_and_people(client, steward, catalog):
    client.force_login(steward)
    html = client.get(reverse("catalog:asset", args=[catalog["patients"].pk])).content.decode()
    for url in (
        reverse("catalog:domain", args=[catalog["domain"].pk]),
        reverse("catalog:tag", args=[catalog["tag"].pk]),
        reverse("catalog:glossary_term", args=[catalog["term"].pk]),
        reverse("catalog:person", args=["stella"]),
    ):
        assert f'href="{url}"' in html
    assert Classification.objects.count() == 3


def test_the_api_search_and_the_page_find_the_same_column_hits(client, api_as, steward, catalog):
    """A column whose asset's own name and description miss the text is still a hit (the API
    used to apply ``q`` to the assets as well, dropping it)."""
    client.force_login(steward)
    page = client.get(reverse("catalog:search"), {"q": "ssn"}).context["totals"]
    api = api_as("steward").get("/api/v1/search", {"q": "ssn"}).json()["totals"]
    assert page["column"] == api["column"] == 1


def test_a_total_past_the_cap_is_shown_as_at_least(client, steward, catalog, monkeypatch):
    from catalog import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    _grow(5)
    client.force_login(steward)
    hits, totals, capped = selectors.search_page(user=steward, query="patient", limit=2, count_cap=2)
    assert capped == {"asset"} and totals["asset"] == 3 and len([h for h in hits if h.type == "asset"]) == 2
    exact, _ = selectors.search(user=steward, query="patient", types=("asset",))
    assert len(exact) == 7  # the exact total: the page says "at least", never a wrong exact number
    _grow(20)  # past the page's 20 hits, so the page counts (up to the cap)
    html = client.get(reverse("catalog:search"), {"q": "patient"}).content.decode()
    assert "At least " in html and 'Assets <span class="count">2+</span>' in html
