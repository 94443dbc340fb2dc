"""Deleting one object from its admin page asks a reason, and the service records it (issue 18, Admin).

Domains, tags, glossary terms, sources, columns, ML models and versions, and policies: the
confirmation page carries a required reason; a post without one deletes nothing; with one the
service deletes and its audit event holds the reason. A protected object (a source still holding
assets) is not deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import GlossaryTerm
from compliance.policies import services as policies
from tests.factories import (
    AssetFactory,
    ColumnFactory,
    DomainFactory,
    MLModelFactory,
    ModelVersionFactory,
    SourceFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward(make_user):
    return make_user("steward", username="stella")


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client


def _policy(steward):
    return policies.policy_create(
        actor=steward, name="keep two years", kind="retention", config={"max_age_days": 730, "action": "flag"}
    )


CASES = {
    "catalog_domain": (lambda s: DomainFactory(), "catalog.domain.delete"),
    "catalog_tag": (lambda s: TagFactory(), "catalog.tag.delete"),
    "catalog_glossaryterm": (lambda s: GlossaryTerm.objects.create(name="Customer"), "catalog.glossary_term.delete"),
    "catalog_datasource": (lambda s: SourceFactory(), "catalog.source.delete"),
    "catalog_column": (lambda s: ColumnFactory(), "catalog.column.delete"),
    "catalog_mlmodel": (lambda s: MLModelFactory(), "catalog.model.delete"),
    "catalog_modelversion": (lambda s: ModelVersionFactory(), "catalog.model_version.delete"),
    "policies_policy": (_policy, "policies.policy.delete"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_single_delete_asks_a_reason_and_the_service_records_it(steward_client, steward, name):
    make, action = CASES[name]
    obj = make(steward)
    model = type(obj)
    url = reverse(f"admin:{name}_delete", args=[obj.pk])

    page = steward_client.get(url)
    assert page.status_code == 200
    assert b'name="reason"' in page.content and b"audit ledger" in page.content

    refused = steward_client.post(url, {"post": "yes"})
    assert refused.status_code == 200
    assert b"Nothing was deleted: give a reason." in refused.content
    assert model.objects.filter(pk=obj.pk).exists()
    assert not AuditEvent.objects.filter(action=action).exists()

    done = steward_client.post(url, {"post": "yes", "reason": "duplicate of the finance one"})
    assert done.status_code == 302
    assert not model.objects.filter(pk=obj.pk).exists()
    event = AuditEvent.objects.get(action=action)
    assert event.reason == "duplicate of the finance one"
    assert str(event.target_id) == str(obj.pk)
    assert event.actor_id == str(steward.pk)


def test_a_protected_object_is_not_deleted_and_no_reason_is_asked(steward_client):
    asset = AssetFactory()
    url = reverse("admin:catalog_datasource_delete", args=[asset.source_id])

    page = steward_client.get(url)
    response = steward_client.post(url, {"post": "yes", "reason": "retired"})

    assert b"Cannot delete" in page.content and b'name="reason"' not in page.content
    assert response.status_code == 200 and b"Cannot delete" in response.content
    assert type(asset.source).objects.filter(pk=asset.source_id).exists()
    assert not AuditEvent.objects.filter(action="catalog.source.delete").exists()
