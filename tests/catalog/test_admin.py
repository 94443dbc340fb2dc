"""Admin pages render for stewards, and admin writes and bulk actions go through services."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import Classification, DataAsset
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory, ModelVersionFactory, SourceFactory

pytestmark = pytest.mark.django_db

MODELS = ["domain", "tag", "glossaryterm", "datasource", "dataasset", "column", "classification", "mlmodel", "modelversion"]


@pytest.fixture
def steward_client(client, make_user):
    steward = make_user("steward", username="stella")
    client.force_login(steward)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_catalog_admin_page_renders(steward_client, model):
    ClassificationFactory(column=ColumnFactory(asset=AssetFactory()))
    ModelVersionFactory()
    changelist = steward_client.get(reverse(f"admin:catalog_{model}_changelist"), {"q": "a"})
    assert changelist.status_code == 200
    obj = {
        "dataasset": DataAsset.objects.first(),
        "classification": Classification.objects.first(),
    }.get(model)
    if obj is not None:
        assert steward_client.get(reverse(f"admin:catalog_{model}_change", args=[obj.pk])).status_code == 200
    if model != "classification":
        assert steward_client.get(reverse(f"admin:catalog_{model}_add")).status_code == 200


def test_admin_add_asset_goes_through_the_service(steward_client):
    source = SourceFactory()
    response = steward_client.post(
        reverse("admin:catalog_dataasset_add"),
        {
            "source": source.pk,
            "qualified_name": "crm.leads",
            "name": "leads",
            "kind": "table",
            "status": "active",
            "sensitivity": "internal",
            "processing_purposes": "[]",
            "data_subject_categories": "[]",
            "recipients": "[]",
            "international_transfers": "[]",
            "columns-TOTAL_FORMS": "1",
            "columns-INITIAL_FORMS": "0",
            "columns-0-name": "email",
            "columns-0-position": "0",
            "columns-0-data_type": "text",
            "columns-0-nullable": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    asset = DataAsset.objects.get(qualified_name="crm.leads")
    assert list(asset.columns.values_list("name", flat=True)) == ["email"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"catalog.asset.register", "catalog.column.create"} <= actions


def test_bulk_confirm_and_reject_classifications(steward_client):
    a, b = ClassificationFactory(), ClassificationFactory()
    url = reverse("admin:catalog_classification_changelist")
    for step, obj in (("confirm", a), ("reject", b)):
        page = steward_client.post(url, {"action": step, "_selected_action": [obj.pk]})
        assert page.status_code == 200 and b'name="reason"' in page.content  # the confirmation step
        obj.refresh_from_db()
        assert obj.state == "suggested"
        steward_client.post(url, {"action": step, "_selected_action": [obj.pk], "apply": "1", "reason": f"{step}ed by review"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state) == ("confirmed", "rejected")
    decided = AuditEvent.objects.filter(action__in=["catalog.classification.confirm", "catalog.classification.reject"])
    assert sorted(decided.values_list("reason", flat=True)) == ["confirmed by review", "rejected by review"]


def test_bulk_set_sensitivity_and_assign_owner(steward_client, make_user):
    assets = [AssetFactory(), AssetFactory()]
    owner = make_user("steward", username="olga")
    url = reverse("admin:catalog_dataasset_changelist")
    ids = [a.pk for a in assets]
    form = steward_client.post(url, {"action": "set_sensitivity", "_selected_action": ids})
    assert form.status_code == 200 and b"Set sensitivity" in form.content
    steward_client.post(
        url, {"action": "set_sensitivity", "_selected_action": ids, "apply": "1", "sensitivity": "restricted", "reason": "PHI"}
    )
    steward_client.post(
        url, {"action": "assign_owner", "_selected_action": ids, "apply": "1", "owner": owner.pk, "reason": "RACI"}
    )
    for asset in assets:
        asset.refresh_from_db()
        assert asset.sensitivity == "restricted"
        assert list(asset.owners.all()) == [owner]
    assert list(AuditEvent.objects.filter(action="catalog.asset.set_owners").values_list("reason", flat=True)) == ["RACI"] * 2


def test_a_source_with_assets_cannot_be_deleted_from_admin(steward_client):
    asset = AssetFactory()
    response = steward_client.post(
        reverse("admin:catalog_datasource_delete", args=[asset.source_id]), {"post": "yes", "reason": "retired"}, follow=True
    )
    assert response.status_code == 200
    asset.source.refresh_from_db()


@pytest.mark.parametrize(
    ("role", "changelist", "add", "users_admin"),
    [("steward", 200, 200, 403), ("auditor", 200, 403, 403), ("admin", 200, 200, 200)],
)
def test_admin_access_follows_the_role_matrix(client, make_user, role, changelist, add, users_admin):
    """Stewards work in the admin without hand-assigned Django permissions; auditors only read."""
    client.force_login(make_user(role))
    assert client.get(reverse("admin:catalog_dataasset_changelist")).status_code == changelist
    assert client.get(reverse("admin:catalog_dataasset_add")).status_code == add
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == users_admin


def test_viewers_and_services_cannot_enter_the_admin(client, make_user):
    for role in ("viewer", "service"):
        client.force_login(make_user(role))
        response = client.get(reverse("admin:catalog_dataasset_changelist"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
