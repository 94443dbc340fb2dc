"""record(): canonical bodies fixed at write time, byte-exact storage, and failure semantics."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import rfc8785
from django.db import transaction

from audit import verify_core
from audit.canonical import to_micros
from audit.models import AuditEvent, LedgerEntry, PendingEvent
from audit.sequencer import sequence_pending
from audit.services import AuditOutsideTransaction, record
from catalog.models import Domain
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_writes_a_canonical_body_whose_bytes_are_hashed_and_read_back_unchanged():
    user = UserFactory()
    with transaction.atomic():
        event = record(
            actor=user,
            action="catalog.domain.update",
            target_type="catalog.domain",
            target_id=7,
            reason="why",
            details={"b": 2, "a": [1, "x"], "when": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)},
        )
    body = bytes(AuditEvent.objects.get(pk=event.pk).body)
    parsed = json.loads(body)
    assert body == rfc8785.dumps(parsed)  # canonical: keys sorted, no whitespace
    assert parsed == {
        "v": 1,
        "time": to_micros(event.occurred_at),
        "actor": {"type": "user", "id": str(user.pk)},
        "action": "catalog.domain.update",
        "target": {"type": "catalog.domain", "id": "7"},
        "reason": "why",
        "details": {"a": [1, "x"], "b": 2, "when": 1767323045678901},
    }
    assert user.get_username() not in body.decode()  # the body names the actor by id only
    assert bytes(AuditEvent.objects.get(pk=event.pk).leaf_hash) == verify_core.leaf_hash(body)
    sequence_pending()
    entry = LedgerEntry.objects.get(event=event)
    assert bytes(entry.body) == body and bytes(entry.leaf_hash) == verify_core.leaf_hash(body)


def test_it_stores_times_as_integer_microseconds_and_never_a_float():
    with transaction.atomic():
        event = record(
            actor=None,
            action="t.x",
            target_type="t",
            target_id="1",
            details={"score": 0.1 + 0.2, "big": 2**60, "money": Decimal("1.10"), "ratio": 2.0, "tags": {"b", "a"}},
        )
    parsed = json.loads(bytes(event.body))
    assert isinstance(parsed["time"], int)
    assert parsed["details"] == {
        "score": "0.30000000000000004",
        "big": str(2**60),
        "money": "1.10",
        "ratio": "2.0",
        "tags": ["a", "b"],
    }
    assert event.details == parsed["details"]
    assert event.occurred_at.microsecond == parsed["time"] % 1_000_000


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_record_outside_a_transaction():
    with pytest.raises(AuditOutsideTransaction):
        record(actor=None, action="t.x", target_type="t", target_id=1)


def test_a_failing_audit_write_fails_the_change():
    with pytest.raises(TypeError), transaction.atomic():
        domain = Domain.objects.create(name="Clinical")
        record(actor=None, action="catalog.domain.create", target=domain, details={"obj": object()})
    assert not Domain.objects.filter(name="Clinical").exists()
    assert not AuditEvent.objects.exists()


def test_it_keeps_the_existing_signature_and_queues_the_event_for_the_sequencer():
    domain = Domain.objects.create(name="Clinical")
    with transaction.atomic():
        event = record(actor="importer", action="catalog.domain.create", target=domain)
    assert (event.actor_type, event.actor_id, event.target_type, event.target_id) == (
        "system",
        "importer",
        "catalog.domain",
        str(domain.pk),
    )
    assert event.seq is None and PendingEvent.objects.filter(event=event).exists()
    sequence_pending()
    assert AuditEvent.objects.get(pk=event.pk).seq == 0
    assert not PendingEvent.objects.exists()


def test_it_sequences_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record(actor=None, action="t.a", target_type="t", target_id=1)
        record(actor=None, action="t.b", target_type="t", target_id=2)
    assert list(LedgerEntry.objects.values_list("seq", "event__action")) == [(0, "t.a"), (1, "t.b")]
