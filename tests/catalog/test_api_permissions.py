"""The permission matrix: every catalog endpoint x every role (anonymous included), and
restricted metadata hidden from roles without ``view_restricted``."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from tests.factories import (
    AssetFactory,
    ClassificationFactory,
    ColumnFactory,
    DomainFactory,
    MLModelFactory,
    ModelVersionFactory,
    SourceFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

ROLES = [None, *Role.values]
READERS = {Role.ADMIN, Role.STEWARD, Role.AUDITOR, Role.SERVICE, Role.VIEWER}
CREATORS = {Role.ADMIN, Role.STEWARD, Role.SERVICE}
CHANGERS = {Role.ADMIN, Role.STEWARD, Role.SERVICE}
DELETERS = {Role.ADMIN, Role.STEWARD}
DECIDERS = {Role.ADMIN, Role.STEWARD}


def _resources():
    """basename -> (factory for an existing object, payload for create, patch payload)."""
    return {
        "domain": (DomainFactory, lambda: {"name": "Clinical"}, {"description": "d"}),
        "tag": (TagFactory, lambda: {"name": "pii"}, {"description": "d"}),
        "glossary-term": (
            lambda: __import__("catalog.models").models.GlossaryTerm.objects.create(name="Patient"),
            lambda: {"name": "Encounter"},
            {"description": "d"},
        ),
        "source": (
            SourceFactory,
            lambda: {"name": "crm", "kind": "postgresql", "namespace": "postgres://crm:5432"},
            {"description": "d"},
        ),
        "asset": (AssetFactory, lambda: {"source": SourceFactory().pk, "qualified_name": "s.t"}, {"description": "d"}),
        "column": (ColumnFactory, lambda: {"asset": AssetFactory().pk, "name": "email"}, {"description": "d"}),
        "mlmodel": (MLModelFactory, lambda: {"name": "churn"}, {"description": "d"}),
        "model-version": (ModelVersionFactory, lambda: {"model": MLModelFactory().pk, "version": "9.9"}, {"stage": "staging"}),
    }


def _expected(role, allowed, ok):
    if role is None:
        return 401
    return ok if role in allowed else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("basename", list(_resources()))
def test_crud_endpoints_follow_the_role_matrix(api_as, role, basename):
    factory, create_payload, patch_payload = _resources()[basename]
    obj = factory()
    client = api_as(role)
    list_url = reverse(f"{basename}-list")
    detail_url = reverse(f"{basename}-detail", args=[obj.pk])

    assert client.get(list_url).status_code == _expected(role, READERS, 200)
    assert client.get(detail_url).status_code == _expected(role, READERS, 200)
    assert client.post(list_url, create_payload(), format="json").status_code == _expected(role, CREATORS, 201)
    assert client.patch(detail_url, patch_payload, format="json").status_code == _expected(role, CHANGERS, 200)
    assert client.delete(detail_url).status_code == _expected(role, DELETERS, 204)


@pytest.mark.parametrize("role", ROLES)
def test_classification_decisions_are_for_stewards_and_admins(api_as, role):
    classification = ClassificationFactory()
    client = api_as(role)
    assert client.get(reverse("classification-list")).status_code == _expected(role, READERS, 200)
    url = reverse("classification-confirm", args=[classification.pk])
    assert client.post(url, {"reason": "checked"}, format="json").status_code == _expected(role, DECIDERS, 200)
    url = reverse("classification-reject", args=[classification.pk])
    assert client.post(url, {}, format="json").status_code == _expected(role, DECIDERS, 200)
    payload = {"column": classification.column_id, "entity_type": "PERSON"}
    assert client.post(reverse("classification-list"), payload, format="json").status_code == _expected(role, DECIDERS, 201)


@pytest.mark.parametrize("role", ROLES)
def test_search_and_me_need_a_login(api_as, role):
    client = api_as(role)
    assert client.get(reverse("search"), {"q": "x"}).status_code == _expected(role, READERS, 200)
    assert client.get(reverse("me")).status_code == _expected(role, READERS, 200)


@pytest.mark.parametrize(
    ("role", "sees_restricted"),
    [(Role.ADMIN, True), (Role.STEWARD, True), (Role.AUDITOR, True), (Role.SERVICE, False), (Role.VIEWER, False)],
)
def test_restricted_assets_are_invisible_without_view_restricted(api_as, role, sees_restricted):
    secret = AssetFactory(sensitivity="restricted", qualified_name="hr.salaries", description="pay grades")
    column = ColumnFactory(asset=secret, name="salary_band")
    classification = ClassificationFactory(column=column)
    AssetFactory(sensitivity="internal", qualified_name="web.pages")
    client = api_as(role)
    listed = {a["qualified_name"] for a in client.get(reverse("asset-list")).json()["results"]}
    assert ("hr.salaries" in listed) is sees_restricted
    assert (client.get(reverse("asset-detail", args=[secret.pk])).status_code == 200) is sees_restricted
    assert (client.get(reverse("column-detail", args=[column.pk])).status_code == 200) is sees_restricted
    assert (client.get(reverse("classification-detail", args=[classification.pk])).status_code == 200) is sees_restricted
    hits = client.get(reverse("search"), {"q": "salar"}).json()["results"]
    assert bool(hits) is sees_restricted


def test_a_service_cannot_attach_a_column_to_a_restricted_asset_it_cannot_see(api_as):
    secret = AssetFactory(sensitivity="restricted")
    response = api_as(Role.SERVICE).post(reverse("column-list"), {"asset": secret.pk, "name": "x"}, format="json")
    assert response.status_code == 400
    assert "asset" in response.json()["error"]["fields"]
