"""The About tab's tag and glossary-term pickers: ``GET /tag-search/`` and ``/term-search/`` offer
existing rows only to roles that may change assets, and the About form saves the picked names
through ``asset_update`` (audited, refused for read-only roles)."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from audit.models import AuditEvent
from catalog.models import GlossaryTerm, Tag
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def labels():
    for i in range(10):
        Tag.objects.create(name=f"pii-{i:02}", description=f"tag {i} " + "x" * 200)
    Tag.objects.create(name="pii, legacy")
    Tag.objects.create(name="finance")
    GlossaryTerm.objects.create(name="Patient", description="A person receiving care.")
    GlossaryTerm.objects.create(name="Payer", description="Who pays.")


@pytest.mark.parametrize("url", ["catalog:tag_search", "catalog:term_search"])
@pytest.mark.parametrize("role", [Role.VIEWER, Role.AUDITOR])
def test_roles_that_cannot_change_assets_get_no_answer(client, make_user, labels, url, role):
    client.force_login(make_user(role))
    response = client.get(reverse(url), {"q": "p"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_anonymous_is_sent_to_login(client, labels):
    assert client.get(reverse("catalog:tag_search")).status_code == 302


@pytest.mark.parametrize("role", [Role.STEWARD, Role.SERVICE, Role.ADMIN])
def test_tag_search_offers_existing_tags_by_name_at_most_eight(client, make_user, labels, role):
    client.force_login(make_user(role))
    body = client.get(reverse("catalog:tag_search"), {"q": "PII", "exclude": "pii-00,pii-01"}).json()
    assert [i["value"] for i in body["items"]] == [f"pii-{i:02}" for i in range(2, 10)]
    assert body["more"] is False  # 8 left after the two excluded; the comma name is never offered
    assert len(body["items"][0]["detail"]) <= 80
    body = client.get(reverse("catalog:tag_search"), {"q": "pii"}).json()
    assert len(body["items"]) == 8 and body["more"] is True
    assert "pii, legacy" not in [i["value"] for i in client.get(reverse("catalog:tag_search"), {"q": "legacy"}).json()["items"]]


def test_term_search_offers_terms_with_their_definition(client, make_user, labels):
    client.force_login(make_user(Role.STEWARD))
    body = client.get(reverse("catalog:term_search"), {"q": "pa"}).json()
    assert body["items"] == [
        {"value": "Patient", "detail": "A person receiving care."},
        {"value": "Payer", "detail": "Who pays."},
    ]


def test_the_about_tab_marks_the_pickers_and_who_may_create_a_tag(client, make_user, labels):
    asset = AssetFactory()
    client.force_login(make_user(Role.STEWARD))
    html = client.get(reverse("catalog:asset", args=[asset.pk])).content.decode()
    assert f'data-search-url="{reverse("catalog:tag_search")}" data-what="tag"' in html
    assert f'data-search-url="{reverse("catalog:term_search")}" data-what="glossary term"' in html
    assert 'data-create="1"' in html  # stewards may add tags
    client.force_login(make_user(Role.VIEWER))
    html = client.get(reverse("catalog:asset", args=[asset.pk])).content.decode()
    assert "data-picker" not in html


def test_picked_tags_and_terms_are_saved_through_the_service_with_the_reason(client, make_user, labels):
    asset = AssetFactory()
    steward = make_user(Role.STEWARD)
    client.force_login(steward)
    edit = reverse("catalog:asset_edit", args=[asset.pk])
    assert client.post(edit, {"field": "tags", "value": "pii-03, finance", "reason": "billing data"}).status_code == 302
    assert client.post(edit, {"field": "glossary_terms", "value": "Payer", "reason": "who pays"}).status_code == 302
    assert sorted(t.name for t in asset.tags.all()) == ["finance", "pii-03"]
    assert [t.name for t in asset.glossary_terms.all()] == ["Payer"]
    events = AuditEvent.objects.filter(action="catalog.asset.update", actor_name=steward.username).order_by("pk")
    assert [e.reason for e in events] == ["billing data", "who pays"]
    client.force_login(make_user(Role.AUDITOR))  # a forged post from a read-only role
    assert client.post(edit, {"field": "tags", "value": "finance", "reason": "x"}).status_code == 403
    assert sorted(t.name for t in asset.tags.all()) == ["finance", "pii-03"]
