"""A soft delete is a delete (issue 17, item 4): moving an asset into (or out of) status
``deleted`` needs the ``delete`` action however it is asked for -- ``DELETE``, ``PATCH``/``PUT``
``{"status": "deleted"}``, the services called by admin forms and commands."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.choices import Role
from audit.models import AuditEvent
from catalog import services
from catalog.choices import AssetStatus
from tests.factories import AssetFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.SERVICE, Role.VIEWER, Role.AUDITOR])
@pytest.mark.parametrize("method", ["patch", "put"])
def test_roles_without_delete_cannot_soft_delete_by_status(api_as, role, method):
    asset = AssetFactory()
    url = reverse("asset-detail", args=[asset.pk])
    payload = {"status": "deleted"}
    if method == "put":
        payload |= {"source": asset.source_id, "qualified_name": asset.qualified_name}
    response = getattr(api_as(role), method)(url, payload, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403
    asset.refresh_from_db()
    assert asset.status == AssetStatus.ACTIVE


def test_a_service_is_told_why(api_as):
    asset = AssetFactory()
    response = api_as(Role.SERVICE).patch(reverse("asset-detail", args=[asset.pk]), {"status": "deleted"}, format="json")
    assert response.json()["error"]["message"] == "service may not delete assets (status deleted is a delete)"


def test_a_service_may_still_change_other_fields_and_deprecate(api_as):
    asset = AssetFactory()
    url = reverse("asset-detail", args=[asset.pk])
    response = api_as(Role.SERVICE).patch(url, {"status": "deprecated", "description": "d"}, format="json")
    assert response.status_code == 200, response.content
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DEPRECATED


@pytest.mark.parametrize("role", [Role.STEWARD, Role.ADMIN])
def test_deleters_soft_delete_by_status_and_it_is_audited_as_a_delete(api_as, users, role):
    asset = AssetFactory()
    response = api_as(role).patch(reverse("asset-detail", args=[asset.pk]), {"status": "deleted"}, format="json")
    assert response.status_code == 200, response.content
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DELETED
    event = AuditEvent.objects.get(action="catalog.asset.delete", target_id=str(asset.pk))
    assert event.details["status"] == {"from": "active", "to": "deleted"}


def test_restoring_a_deleted_asset_is_also_the_delete_action(api_as):
    asset = AssetFactory(status=AssetStatus.DELETED)
    url = reverse("asset-detail", args=[asset.pk])
    assert api_as(Role.SERVICE).patch(url, {"status": "active"}, format="json").status_code == 403
    assert api_as(Role.STEWARD).patch(url, {"status": "active"}, format="json").status_code == 200
    assert AuditEvent.objects.filter(action="catalog.asset.restore", target_id=str(asset.pk)).exists()


def test_the_service_itself_refuses_so_admin_and_commands_agree(users):
    asset = AssetFactory()
    for role in (Role.SERVICE, Role.VIEWER):
        with pytest.raises(PermissionDenied, match=f"{role} may not (delete|change) assets"):
            services.asset_update(asset=asset, actor=users[role], status=AssetStatus.DELETED)
    asset.refresh_from_db()
    assert asset.status == AssetStatus.ACTIVE
    with pytest.raises(PermissionDenied, match="may not delete assets"):
        services.asset_register(actor=users[Role.SERVICE], source=SourceFactory(), qualified_name="a.b", status="deleted")


def test_the_admin_form_soft_deletes_for_a_steward_as_a_delete(client, users):
    asset = AssetFactory()
    client.force_login(users[Role.STEWARD])
    url = reverse("admin:catalog_dataasset_change", args=[asset.pk])
    form = {
        "source": asset.source_id,
        "qualified_name": asset.qualified_name,
        "name": asset.name,
        "kind": "table",
        "status": "deleted",
        "sensitivity": asset.sensitivity,
        "processing_purposes": "[]",
        "data_subject_categories": "[]",
        "recipients": "[]",
        "international_transfers": "[]",
        "columns-TOTAL_FORMS": "0",
        "columns-INITIAL_FORMS": "0",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DELETED
    assert AuditEvent.objects.filter(action="catalog.asset.delete", target_id=str(asset.pk)).exists()
