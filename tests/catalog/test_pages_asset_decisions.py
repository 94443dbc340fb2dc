"""Asset page, About tab: the owners/stewards picker's people search, and sensitivity and legal
basis edited in place by a steward (through ``catalog.services``, audited with the reason),
read-only for every other role; a forged post is refused by the service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog import services
from tests.factories import AssetFactory, ColumnFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(make_user):
    asset = AssetFactory(qualified_name="clinic.visits", sensitivity="confidential", legal_basis="")
    ColumnFactory(asset=asset, name="visit_id")
    return asset


def edit(client, asset, **data):
    return client.post(reverse("catalog:asset_edit", args=[asset.pk]), data)


# --- people search for the picker -----------------------------------------------------------------


def test_the_people_search_offers_active_users_by_username_or_name(client, make_user):
    steward = make_user("steward", username="stella")
    make_user("viewer", username="olga", first_name="Olga", last_name="Berg")
    make_user("viewer", username="oscar")
    make_user("viewer", username="olaf", is_active=False)
    make_user("auditor", username="ben", first_name="Olivia")
    client.force_login(steward)
    url = reverse("catalog:people_search")
    found = client.get(url, {"q": "ol"}).json()
    assert [u["username"] for u in found["users"]] == ["ben", "olga"]  # first name Olivia; the inactive olaf never
    assert found["users"][1] == {"username": "olga", "name": "Olga Berg", "role": "Viewer"} and found["more"] is False
    assert [u["username"] for u in client.get(url, {"q": "o", "exclude": "olga,ben"}).json()["users"]] == ["oscar"]
    assert "stella" in [u["username"] for u in client.get(url, {"q": "stel"}).json()["users"]]  # a steward may add itself


def test_the_people_search_caps_its_answer_and_says_there_is_more(client, make_user):
    steward = make_user("steward", username="stella")
    for i in range(12):
        make_user("viewer", username=f"user{i:02d}")
    client.force_login(steward)
    found = client.get(reverse("catalog:people_search"), {"q": "user"}).json()
    assert len(found["users"]) == 8 and found["more"] is True


def test_a_service_is_never_offered_itself_and_read_only_roles_get_403(client, make_user):
    service = make_user("service", username="etl-bot")
    make_user("viewer", username="etl-human")
    client.force_login(service)
    found = client.get(reverse("catalog:people_search"), {"q": "etl"}).json()
    assert [u["username"] for u in found["users"]] == ["etl-human"]  # adding itself is a steward decision
    for role in ("viewer", "auditor"):
        client.force_login(make_user(role))
        refused = client.get(reverse("catalog:people_search"), {"q": "etl"})
        assert refused.status_code == 403 and refused.json()["error"]["message"] == f"{role} may not change assets"
    client.logout()
    assert client.get(reverse("catalog:people_search"), {"q": "etl"}).status_code == 302  # to the login page


# --- sensitivity and legal basis --------------------------------------------------------------------


def test_a_steward_sets_sensitivity_and_legal_basis_with_a_reason_and_it_is_audited(client, make_user, asset):
    steward = make_user("steward", username="stella")
    client.force_login(steward)
    page = client.get(reverse("catalog:asset", args=[asset.pk])).content.decode()
    assert 'id="edit-sensitivity"' in page and 'id="edit-legal-basis"' in page
    response = edit(client, asset, field="legal_basis", value="contract", reason="patients sign a care contract")
    assert response.status_code == 302
    response = edit(client, asset, field="sensitivity", value="restricted", reason="special category data (art. 9)")
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.legal_basis, asset.sensitivity) == ("contract", "restricted")
    decided = AuditEvent.objects.get(action="catalog.asset.decide")
    assert decided.reason == "patients sign a care contract" and decided.details["decided"] == ["legal_basis"]
    raised = AuditEvent.objects.filter(action="catalog.asset.update", reason="special category data (art. 9)").get()
    assert raised.details["changes"]["sensitivity"] is not None
    # lowering is a decision too, and never below what confirmed labels imply
    column = asset.columns.get()
    services.classification_assign(column=column, entity_type="US_SSN", actor=steward, sensitivity="confidential", reason="x")
    lowered = edit(client, asset, field="sensitivity", value="public", reason="open data")
    assert lowered.status_code == 400 and "may not be below confidential" in lowered.content.decode()
    asset.refresh_from_db()
    assert asset.sensitivity == "restricted"


def test_a_decision_without_a_reason_or_with_an_unknown_value_changes_nothing(client, make_user, asset):
    client.force_login(make_user("steward"))
    no_reason = edit(client, asset, field="legal_basis", value="consent", reason="  ")
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.content.decode()
    bad = edit(client, asset, field="sensitivity", value="<b>top-secret</b>", reason="why not")
    body = bad.content.decode()
    assert bad.status_code == 400 and "Not one of the allowed values." in body and "top-secret" not in body
    bad_basis = edit(client, asset, field="legal_basis", value="because", reason="x")
    assert bad_basis.status_code == 400
    asset.refresh_from_db()
    assert (asset.legal_basis, asset.sensitivity) == ("", "confidential")
    assert not AuditEvent.objects.filter(action__in=["catalog.asset.update", "catalog.asset.decide"]).exists()


@pytest.mark.parametrize("role", ["viewer", "auditor", "service"])
def test_other_roles_read_sensitivity_and_legal_basis_and_a_forged_post_is_refused(client, make_user, asset, role):
    asset.legal_basis = "consent"
    asset.save()
    client.force_login(make_user(role))
    page = client.get(reverse("catalog:asset", args=[asset.pk])).content.decode()
    assert "Consent (Art. 6(1)(a))" in page  # read-only
    assert 'id="edit-sensitivity"' not in page and 'id="edit-legal-basis"' not in page
    forged = edit(client, asset, field="legal_basis", value="legitimate_interests", reason="forged")
    assert forged.status_code == 403
    expected = (
        "service may not decide asset legal_basis (a steward decision)" if role == "service" else f"{role} may not change assets"
    )
    assert expected in forged.content.decode()
    lowered = edit(client, asset, field="sensitivity", value="public", reason="forged")
    assert lowered.status_code == 403
    asset.refresh_from_db()
    assert (asset.legal_basis, asset.sensitivity) == ("consent", "confidential")


def test_an_htmx_decision_swaps_the_about_section_and_the_header_badge(client, make_user, asset):
    client.force_login(make_user("steward"))
    response = client.post(
        reverse("catalog:asset_edit", args=[asset.pk]),
        {"field": "sensitivity", "value": "restricted", "reason": "art. 9"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Saved sensitivity." in body
    assert '<span id="asset-sens" class="sens sens-restricted" hx-swap-oob="true">restricted</span>' in body


def test_setting_legal_basis_through_the_api_is_a_steward_decision_too(api_as, asset):
    url = reverse("asset-detail", args=[asset.pk])
    refused = api_as("service").patch(url, {"legal_basis": "contract"}, format="json")
    assert refused.status_code == 403
    allowed = api_as("steward").patch(url, {"legal_basis": "contract", "reason": "care contract"}, format="json")
    assert allowed.status_code == 200 and allowed.json()["legal_basis"] == "contract"
