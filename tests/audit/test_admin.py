"""The ledger admin is read-only, for everyone including superusers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.choices import Role
from audit.models import AuditEvent, Checkpoint
from audit.services import checkpoint_create
from tests.audit.conftest import add_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_ledger_admin_shows_events_and_checkpoints_but_offers_no_change(client, ledger_key):
    add_events(3)
    checkpoint_create()
    client.force_login(UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True))
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and b"test.event" in page.content and b'name="_save"' not in page.content
    assert client.get(reverse("admin:audit_checkpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"reason": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).reason == "" and Checkpoint.objects.count() == 1
