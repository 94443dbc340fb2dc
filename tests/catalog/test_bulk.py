"""Bulk classification writes (catalog.bulk) and the bulk audit append (audit.services.record_many)."""

from __future__ import annotations

import json

import pytest
from celery.signals import task_prerun
from django.core.exceptions import ValidationError
from django.db import transaction

from audit import verify_core
from audit.canonical import event_body, to_micros
from audit.models import AuditEvent, PendingEvent
from audit.services import AuditOutsideTransaction, record, record_many
from catalog import services
from catalog.bulk import Suggestion, classifications_suggest_bulk
from catalog.models import Classification, Column
from catalog.signals import classification_changed, classifications_changed
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

pytestmark = pytest.mark.django_db
ACTOR = "custos:propagation"


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def batch():
    """Two assets; column a1 has a propagated label to refresh, b1 one to withdraw."""
    asset_a, asset_b = AssetFactory(), AssetFactory()
    a1, a2, b1 = ColumnFactory(asset=asset_a), ColumnFactory(asset=asset_a), ColumnFactory(asset=asset_b)
    refresh = ClassificationFactory(column=a1, source="propagated", evidence={"path": [1]}, confidence=0.5)
    gone = ClassificationFactory(column=b1, source="propagated", entity_type="PERSON")
    suggestions = [
        Suggestion(column_id=a1.pk, entity_type="EMAIL_ADDRESS", evidence={"path": [1, 2]}, confidence=0.8),
        Suggestion(column_id=a2.pk, entity_type="EMAIL_ADDRESS", evidence={"path": [3]}, confidence=0.9),
        Suggestion(column_id=b1.pk, entity_type="EMAIL_ADDRESS", evidence={"path": [4]}, sensitivity="restricted"),
    ]
    return {"assets": (asset_a, asset_b), "columns": (a1, a2, b1), "refresh": refresh, "gone": gone, "suggestions": suggestions}


def _run(batch):
    return classifications_suggest_bulk(
        source="propagated", suggestions=batch["suggestions"], actor=ACTOR, withdraw=[batch["gone"].pk], withdraw_reason="gone"
    )


def test_it_writes_one_audit_event_per_changed_classification(batch):
    a1, a2, b1 = batch["columns"]
    before = _last_event_id()

    assert _run(batch) == {"created": 2, "refreshed": 1, "withdrawn": 1}

    events = list(AuditEvent.objects.filter(id__gt=before))
    assert sorted(e.action for e in events) == [
        "catalog.classification.refresh",
        "catalog.classification.suggest",
        "catalog.classification.suggest",
        "catalog.classification.withdraw",
    ]
    assert PendingEvent.objects.filter(event_id__in=[e.pk for e in events]).count() == 4
    new = Classification.objects.get(column=a2, source="propagated")
    suggest = next(e for e in events if e.target_id == str(new.pk))
    assert suggest.details == {
        "column_id": a2.pk,
        "asset_id": a2.asset_id,
        "entity_type": "EMAIL_ADDRESS",
        "source": "propagated",
        "state": "suggested",
        "confidence": "0.9",
    }
    withdraw = next(e for e in events if e.action == "catalog.classification.withdraw")
    assert (withdraw.target_type, withdraw.target_id, withdraw.reason) == (
        "catalog.classification",
        str(batch["gone"].pk),
        "gone",
    )
    assert withdraw.details == {"column_id": b1.pk, "entity_type": "PERSON", "source": "propagated"}
    assert all(e.actor_id == ACTOR and e.actor_type == "system" for e in events)


def test_its_events_match_the_single_row_services(batch):
    """Same actions, targets and details as classification_suggest / classification_withdraw."""
    a1, a2, b1 = batch["columns"]
    before = _last_event_id()
    with transaction.atomic():
        for s in batch["suggestions"]:
            services.classification_suggest(
                column=Column.objects.get(pk=s.column_id),
                entity_type=s.entity_type,
                source="propagated",
                actor=ACTOR,
                confidence=s.confidence,
                sensitivity=s.sensitivity,
                evidence=s.evidence,
            )
        gone = Classification.objects.get(pk=batch["gone"].pk)  # delete() clears the pk of the instance it gets
        services.classification_withdraw(classification=gone, actor=ACTOR, reason="gone")
        single = _events_since(before)
        single_rows = _rows()
        transaction.set_rollback(True)
    before = _last_event_id()

    _run(batch)

    assert _events_since(before) == single
    assert _rows() == single_rows


def _events_since(before: int) -> list[tuple]:
    return sorted(
        (e.action, e.target_type, e.details["column_id"], e.reason, json.dumps(e.details, sort_keys=True))
        for e in AuditEvent.objects.filter(id__gt=before)
    )


def _rows() -> list[tuple]:
    return sorted(
        (c.column_id, c.entity_type, c.source, c.state, c.confidence, c.sensitivity, json.dumps(c.evidence, sort_keys=True))
        for c in Classification.objects.all()
    )


def test_it_keeps_history_rows(batch):
    a1, a2, b1 = batch["columns"]
    _run(batch)

    history = Classification.history.model.objects
    refreshed = list(history.filter(id=batch["refresh"].pk).order_by("history_id").values_list("history_type", "confidence"))
    assert refreshed == [("+", 0.5), ("~", 0.8)]
    assert history.get(id=batch["refresh"].pk, history_type="~").evidence == {"path": [1, 2]}
    created = Classification.objects.get(column=a2, source="propagated")
    assert list(history.filter(id=created.pk).values_list("history_type", flat=True)) == ["+"]
    assert list(history.filter(id=batch["gone"].pk).order_by("history_id").values_list("history_type", flat=True)) == ["+", "-"]


def test_one_signal_per_batch_and_one_policy_evaluation_per_asset(batch, django_capture_on_commit_callbacks):
    single, bulk, evaluated = [], [], []

    def on_single(sender, **kwargs):
        single.append(kwargs)

    def on_bulk(sender, **kwargs):
        bulk.append(kwargs)

    def on_task(sender=None, args=None, **kwargs):
        if sender.name == "policies.evaluate_asset":
            evaluated.append(args[0])

    classification_changed.connect(on_single)
    classifications_changed.connect(on_bulk)
    task_prerun.connect(on_task)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _run(batch)
    finally:
        classification_changed.disconnect(on_single)
        classifications_changed.disconnect(on_bulk)
        task_prerun.disconnect(on_task)

    asset_a, asset_b = batch["assets"]
    assert single == []
    (sent,) = bulk
    assert sent["asset_ids"] == tuple(sorted((asset_a.pk, asset_b.pk)))
    assert sorted(c["change"] for c in sent["changes"]) == ["created", "created", "refreshed", "withdrawn"]
    assert sorted(evaluated) == sorted((asset_a.pk, asset_b.pk))  # 4 changes, 2 assets, 2 evaluations


def test_it_refuses_to_withdraw_a_steward_decided_classification_and_writes_nothing(batch, users):
    services.classification_confirm(classification=batch["gone"], actor=users["steward"])
    before, rows = _last_event_id(), _rows()

    with pytest.raises(ValidationError, match="steward"):
        _run(batch)

    assert _last_event_id() == before and _rows() == rows


def test_it_refuses_an_unknown_column_or_a_bad_entity_type():
    with pytest.raises(ValidationError, match="unknown column"):
        classifications_suggest_bulk(
            source="propagated", suggestions=[Suggestion(column_id=999999, entity_type="X_Y")], actor=ACTOR
        )
    with pytest.raises(ValidationError):
        classifications_suggest_bulk(
            source="propagated", suggestions=[Suggestion(column_id=ColumnFactory().pk, entity_type="lower")], actor=ACTOR
        )
    assert not Classification.objects.exists()


def test_record_many_bodies_are_the_bodies_record_writes():
    asset = AssetFactory()
    items = [
        {"action": "catalog.x.one", "target": asset, "details": {"n": 1, "ratio": 0.25}, "reason": "r"},
        {"action": "catalog.x.two", "target_type": "catalog.column", "target_id": 7, "details": {"ids": {3, 1}}},
    ]
    with transaction.atomic():
        single = [record(actor=ACTOR, **item) for item in items]
        many = record_many(actor=ACTOR, events=items)

    for one, other in zip(single, many, strict=True):
        other = AuditEvent.objects.get(pk=other.pk)
        body = bytes(other.body)
        assert body == event_body(
            time_us=to_micros(other.occurred_at),
            actor_type=other.actor_type,
            actor_id=other.actor_id,
            action=other.action,
            target_type=other.target_type,
            target_id=other.target_id,
            reason=other.reason,
            details=other.details,
        )
        assert bytes(other.leaf_hash) == verify_core.leaf_hash(body)
        # Byte for byte what record() wrote, apart from the time.
        t_one, t_many = to_micros(one.occurred_at), to_micros(other.occurred_at)
        assert body.replace(b'"time":%d' % t_many, b'"time":%d' % t_one) == bytes(one.body)
        assert PendingEvent.objects.filter(event_id=other.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_record_many_refuses_to_run_outside_a_transaction():
    with pytest.raises(AuditOutsideTransaction):
        record_many(actor=ACTOR, events=[{"action": "catalog.x", "target_type": "catalog.column", "target_id": 1}])
