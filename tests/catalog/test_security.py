"""Issue 12 security regressions in the catalog: defects 3, 10 and 13 (catalog part), through the
services, the admin actions and the API with a service and a viewer token."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from catalog import selectors, services
from catalog.locations import register_location_validator, unregister_location_validator, validate_location
from catalog.models import Classification, DataAsset
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_as(client, make_user):
    def login(role):
        user = make_user(role)
        client.force_login(user)
        return client, user

    return login


# --- defect 3: admin actions and the services behind them follow the role matrix ----------------


def test_an_auditor_cannot_confirm_or_reject_classifications_through_admin_actions(admin_as):
    client, _ = admin_as("auditor")
    a, b = ClassificationFactory(), ClassificationFactory()
    url = reverse("admin:catalog_classification_changelist")
    confirm = client.post(url, {"action": "confirm", "_selected_action": [a.pk]}, follow=True)
    client.post(url, {"action": "reject", "_selected_action": [b.pk]}, follow=True)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state) == ("suggested", "suggested")
    said = [str(m) for m in confirm.context["messages"]]
    assert said == ["auditor may not run “Confirm selected classifications”: it needs the decide permission"]
    assert not AuditEvent.objects.filter(action__startswith="catalog.classification.").exists()


def test_an_auditor_cannot_set_sensitivity_or_add_themselves_as_owner_through_admin_actions(admin_as):
    client, auditor = admin_as("auditor")
    asset = AssetFactory(sensitivity="confidential")
    url = reverse("admin:catalog_dataasset_changelist")
    sens = client.post(
        url, {"action": "set_sensitivity", "_selected_action": [asset.pk], "apply": "1", "sensitivity": "public"}, follow=True
    )
    client.post(url, {"action": "assign_owner", "_selected_action": [asset.pk], "apply": "1", "owner": auditor.pk})
    asset.refresh_from_db()
    assert asset.sensitivity == "confidential" and not asset.owners.exists()
    assert [str(m) for m in sens.context["messages"]] == [
        "auditor may not run “Set sensitivity of selected assets”: it needs the decide permission"
    ]


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_the_services_themselves_refuse_roles_without_the_action(users, role):
    actor = users[role]
    classification = ClassificationFactory()
    asset = classification.column.asset
    for call in (
        lambda: services.classification_confirm(classification=classification, actor=actor),
        lambda: services.classification_reject(classification=classification, actor=actor),
        lambda: services.classification_set_sensitivity(classification=classification, sensitivity="public", actor=actor),
        lambda: services.asset_set_owners(asset=asset, owners=[actor], actor=actor),
        lambda: services.asset_update(asset=asset, actor=actor, description="x"),
        lambda: services.tag_create(actor=actor, name="t"),
        lambda: services.domain_create(actor=actor, name="d"),
        lambda: services.source_create(actor=actor, name="s", kind="other", namespace="n://x"),
        lambda: services.model_create(actor=actor, name="m"),
    ):
        with pytest.raises(PermissionDenied, match=f"^{role} may not "):
            call()
    assert Classification.objects.get().state == "suggested"


def test_a_service_may_not_add_itself_as_owner_but_a_steward_may(users):
    asset = AssetFactory()
    with pytest.raises(PermissionDenied, match="steward decision"):
        services.asset_set_owners(asset=asset, owners=[users["service"]], actor=users["service"])
    services.asset_set_owners(asset=asset, owners=[users["service"]], actor=users["steward"], reason="ETL owner")
    assert list(asset.owners.all()) == [users["service"]]


# --- defect 13: steward decisions -----------------------------------------------------------------


def _confirmed(column, sensitivity="confidential"):
    classification = ClassificationFactory(column=column, sensitivity=sensitivity)
    return services.classification_confirm(classification=classification, actor="test")


def test_a_service_token_gets_403_lowering_sensitivity_setting_location_or_renaming_a_classified_column(api_as):
    column = ColumnFactory(name="note_text")
    _confirmed(column)
    asset = column.asset
    asset.refresh_from_db()
    assert asset.sensitivity == "confidential"
    service = api_as("service")
    detail = reverse("asset-detail", args=[asset.pk])
    assert service.patch(detail, {"sensitivity": "public"}, format="json").status_code == 403
    assert service.patch(detail, {"location": "/etc/passwd"}, format="json").status_code == 403
    column_url = reverse("column-detail", args=[column.pk])
    assert service.patch(column_url, {"name": "x_renamed"}, format="json").status_code == 403
    other = AssetFactory()
    assert service.patch(column_url, {"asset": other.pk}, format="json").status_code == 403
    created = service.post(
        reverse("asset-list"),
        {"source": asset.source_id, "qualified_name": "public.sneaky", "sensitivity": "public", "location": "/etc/passwd"},
        format="json",
    )
    assert created.status_code == 403
    asset.refresh_from_db()
    column.refresh_from_db()
    assert (asset.sensitivity, asset.location, column.name, column.asset_id) == ("confidential", "", "note_text", asset.pk)
    # Raising is an edit, not a decision: the service may make things stricter.
    assert service.patch(detail, {"sensitivity": "restricted"}, format="json").status_code == 200


def test_a_viewer_token_cannot_change_anything(api_as):
    asset = AssetFactory()
    viewer = api_as("viewer")
    assert viewer.patch(reverse("asset-detail", args=[asset.pk]), {"sensitivity": "public"}, format="json").status_code == 403


def test_a_steward_decides_with_a_reason_that_is_audited_and_never_below_the_classification_floor(users):
    column = ColumnFactory()
    _confirmed(column, sensitivity="confidential")
    asset = DataAsset.objects.get(pk=column.asset_id)
    with pytest.raises(ValidationError, match="may not be below confidential"):
        services.asset_update(asset=asset, actor=users["steward"], sensitivity="public", reason="open data")
    services.asset_update(asset=asset, actor=users["steward"], sensitivity="restricted", reason="art. 9")
    services.asset_update(asset=asset, actor=users["steward"], sensitivity="confidential", reason="not special category")
    decision = AuditEvent.objects.filter(action="catalog.asset.decide").get()
    assert decision.reason == "not special category" and decision.details["decided"] == ["sensitivity"]


def test_renaming_a_classified_column_keeps_every_former_name_for_masking(users):
    column = ColumnFactory(name="note_text")
    _confirmed(column)
    services.column_update(column=column, actor=users["steward"], name="x_renamed", reason="schema change")
    services.column_update(column=column, actor=users["steward"], name="notes", reason="again")
    column.refresh_from_db()
    assert selectors.column_names_ever(column) == ["notes", "x_renamed", "note_text"]
    assert AuditEvent.objects.filter(action="catalog.column.decide", reason="schema change").exists()
    # An unclassified column is an ordinary edit for a service.
    plain = ColumnFactory(name="a")
    services.column_update(column=plain, actor=users["service"], name="b")
    plain.refresh_from_db()
    assert selectors.column_names_ever(plain) == ["b", "a"]


def test_asset_register_and_update_call_the_location_validators(users):
    def refuse(location):
        raise ValidationError("location is outside every configured data root")

    register_location_validator(refuse)
    try:
        with pytest.raises(ValidationError) as exc:
            services.asset_register(
                actor=users["steward"], source=SourceFactory(), qualified_name="x.y", location="/secret/place"
            )
        assert "/secret/place" not in str(exc.value)
        asset = AssetFactory()
        with pytest.raises(ValidationError):
            services.asset_update(asset=asset, actor=users["steward"], location="/secret/place", reason="r")
        validate_location("")  # no location: nothing to check
    finally:
        unregister_location_validator(refuse)
    assert not DataAsset.objects.filter(qualified_name="x.y").exists()


# --- defect 10: no existence leak, registrants keep access, no echoed values ----------------------


@pytest.mark.parametrize("role", ["service", "viewer"])
def test_reposting_a_restricted_assets_name_does_not_say_it_exists(api_as, role):
    hidden = AssetFactory(sensitivity="restricted")
    free = AssetFactory()
    client = api_as("service")
    answers = []
    for asset in (hidden, free):
        response = client.post(
            reverse("asset-list"), {"source": asset.source_id, "qualified_name": asset.qualified_name}, format="json"
        )
        answers.append((response.status_code, response.json()["error"]["message"]))
    assert answers[0] == answers[1] and answers[0][0] == 400
    assert "exist" not in answers[0][1]
    if role == "viewer":  # a viewer may not create at all: 403 before any name check
        response = api_as("viewer").post(
            reverse("asset-list"), {"source": hidden.source_id, "qualified_name": hidden.qualified_name}, format="json"
        )
        assert response.status_code == 403


def test_a_service_keeps_its_registered_asset_after_a_steward_restricts_it_and_can_add_columns(api_as, users):
    service = api_as("service")
    source = SourceFactory()
    created = service.post(reverse("asset-list"), {"source": source.pk, "qualified_name": "etl.patients"}, format="json")
    assert created.status_code == 201, created.json()
    asset = DataAsset.objects.get(pk=created.json()["id"])
    column = services.column_create(actor=users["steward"], asset=asset, name="ssn")
    services.classification_assign(column=column, entity_type="US_SSN", sensitivity="restricted", actor=users["steward"])
    asset.refresh_from_db()
    assert asset.sensitivity == "restricted"
    assert service.get(reverse("asset-detail", args=[asset.pk])).status_code == 200
    added = service.post(reverse("column-list"), {"asset": asset.pk, "name": "mrn"}, format="json")
    assert added.status_code == 201, added.json()
    # Everyone else without view_restricted still cannot see it.
    assert api_as("viewer").get(reverse("asset-detail", args=[asset.pk])).status_code == 404
    other_service = api_as("service")
    other_service.force_authenticate(users["viewer"])
    assert other_service.get(reverse("column-list"), {"asset": asset.pk}).json()["count"] == 0


@pytest.mark.parametrize("role", ["service", "steward"])
def test_error_messages_never_echo_submitted_values(api_as, role):
    asset = AssetFactory()
    client = api_as(role)
    response = client.patch(reverse("asset-detail", args=[asset.pk]), {"owners": ["dana"]}, format="json")
    assert response.status_code == 400
    body = response.content.decode()
    assert "dana" not in body and "No such object, or you may not use it." in body
    response = client.post(reverse("column-list"), {"asset": 987654, "name": "c"}, format="json")
    assert response.status_code == 400 and "987654" not in response.content.decode()
    response = client.patch(reverse("asset-detail", args=[asset.pk]), {"kind": "zzsecretzz"}, format="json")
    assert response.status_code == 400 and "zzsecretzz" not in response.content.decode()


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_bulk_suggestions_refuse_roles_without_add(users, role):
    from catalog.bulk import Suggestion, classifications_suggest_bulk

    column = ColumnFactory()
    with pytest.raises(PermissionDenied, match=f"^{role} may not add classifications"):
        classifications_suggest_bulk(
            source="propagated", suggestions=[Suggestion(column_id=column.pk, entity_type="EMAIL_ADDRESS")], actor=users[role]
        )
    assert not Classification.objects.exists()
