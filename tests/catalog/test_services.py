import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from catalog import services
from catalog.choices import ClassificationSource, ClassificationState
from catalog.models import DataAsset
from tests.factories import AssetFactory, ColumnFactory, SourceFactory

pytestmark = pytest.mark.django_db


def test_asset_register_writes_the_asset_and_its_audit_event(users):
    source = SourceFactory()
    asset = services.asset_register(actor=users["steward"], source=source, qualified_name="clinic.patients")
    assert asset.name == "patients"
    event = AuditEvent.objects.get(action="catalog.asset.register")
    assert (event.target_type, event.target_id, event.actor_name) == (
        "catalog.dataasset",
        str(asset.pk),
        users["steward"].username,
    )


def test_it_rejects_a_duplicate_qualified_name_in_the_same_source_and_stores_nothing(users):
    asset = AssetFactory()
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.asset_register(actor=users["steward"], source=asset.source, qualified_name=asset.qualified_name)
    assert DataAsset.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_it_refuses_secrets_in_connection_metadata(users):
    with pytest.raises(ValidationError, match="may not hold secrets"):
        services.source_create(
            actor=users["admin"], name="pg", kind="postgresql", namespace="postgres://x:5432", connection={"password": "hunter2"}
        )
    with pytest.raises(ValidationError, match="credentials in a URL"):
        services.source_create(
            actor=users["admin"],
            name="pg",
            kind="postgresql",
            namespace="postgres://x:5432",
            connection={"url": "postgres://u:pw@h/db"},
        )
    source = services.source_create(
        actor=users["admin"],
        name="pg",
        kind="postgresql",
        namespace="postgres://x:5432",
        connection={"host": "x", "password_ref": "vault:pg/x"},
    )
    assert source.connection["password_ref"] == "vault:pg/x"


def test_a_rejected_suggestion_stays_rejected_when_the_scan_suggests_it_again(users):
    column = ColumnFactory()
    first = services.classification_suggest(
        column=column, entity_type="PERSON", source=ClassificationSource.SCAN, actor="scanner", confidence=0.7
    )
    services.classification_reject(classification=first, actor=users["steward"], reason="product names")
    again = services.classification_suggest(
        column=column, entity_type="PERSON", source=ClassificationSource.SCAN, actor="scanner", confidence=0.9
    )
    assert again.pk == first.pk
    assert again.state == ClassificationState.REJECTED
    assert again.confidence == 0.9


def test_confirming_a_restricted_classification_raises_the_asset_sensitivity(users):
    column = ColumnFactory(asset=AssetFactory(sensitivity="internal"))
    suggestion = services.classification_suggest(
        column=column, entity_type="US_SSN", source="scan", actor="scanner", sensitivity="restricted"
    )
    services.classification_confirm(classification=suggestion, actor=users["steward"])
    column.asset.refresh_from_db()
    assert column.asset.sensitivity == "restricted"


def test_asset_delete_is_soft_and_audited(users):
    asset = AssetFactory()
    services.asset_delete(asset=asset, actor=users["steward"], reason="decommissioned")
    asset.refresh_from_db()
    assert asset.status == "deleted"
    event = AuditEvent.objects.get(action="catalog.asset.delete")
    assert event.details["changes"]["status"] == {"from": "active", "to": "deleted"}


def test_columns_sync_registers_new_columns_and_never_deletes(users):
    asset = AssetFactory()
    ColumnFactory(asset=asset, name="id", position=0)
    cols = services.columns_sync(asset=asset, columns=[{"name": "email", "data_type": "varchar"}], actor="lineage")
    assert set(cols) == {"id", "email"}
    assert asset.columns.count() == 2
