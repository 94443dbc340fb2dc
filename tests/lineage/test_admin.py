"""Lineage admin actions call the lineage services, which check the role matrix themselves
(issue 12, defect 3): an auditor cannot block PII propagation through the admin."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from lineage.choices import NodeType, Propagation
from lineage.models import Edge
from lineage.services import edge_set_propagation
from tests.lineage import scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def column_edge(make_user, django_capture_on_commit_callbacks) -> Edge:
    scenario.build(make_user("service"), django_capture_on_commit_callbacks)
    return Edge.objects.filter(src_type=NodeType.COLUMN, valid_to__isnull=True).order_by("pk").first()


def _post_action(client, action: str, edge: Edge):
    return client.post(
        reverse("admin:lineage_edge_changelist"),
        {"action": action, "_selected_action": [edge.pk], "apply": "1", "reason": "PII must not reach the mart"},
        follow=True,
    )


def test_it_refuses_an_auditor_blocking_propagation_through_the_admin_action(client, make_user, column_edge):
    client.force_login(make_user("auditor"))

    response = _post_action(client, "block_propagation", column_edge)

    assert response.status_code == 200
    column_edge.refresh_from_db()
    assert column_edge.propagation == Propagation.AUTO
    assert not AuditEvent.objects.filter(action="lineage.edge.set_propagation").exists()


def test_it_says_why_when_the_action_is_called_for_an_auditor(make_user, column_edge):
    # Even when the action is reached (Django hides it from roles without "decide"), the
    # service refuses and the admin says why.
    request = RequestFactory().post("/admin/lineage/edge/", {"apply": "1", "reason": "try"})
    request.user = make_user("auditor")
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = site._registry[Edge]

    model_admin.block_propagation(request, Edge.objects.filter(pk=column_edge.pk))

    column_edge.refresh_from_db()
    assert column_edge.propagation == Propagation.AUTO
    assert [str(m) for m in request._messages] == [
        "Block PII propagation over selected edges: 0 changed, 1 refused.",
        f"Refused (1): auditor may not decide lineage edges -- {column_edge}",
    ]


def test_it_lets_a_steward_block_propagation_through_the_admin_action(client, steward, column_edge):
    client.force_login(steward)

    _post_action(client, "block_propagation", column_edge)

    column_edge.refresh_from_db()
    assert column_edge.propagation == Propagation.BLOCK
    event = AuditEvent.objects.get(action="lineage.edge.set_propagation")
    assert event.actor_name == steward.username and event.reason == "PII must not reach the mart"


@pytest.mark.parametrize("role", ["auditor", "service", "viewer"])
def test_the_service_refuses_roles_without_decide(make_user, column_edge, role):
    with pytest.raises(PermissionDenied, match=f"{role} may not decide lineage edges"):
        edge_set_propagation(edge=column_edge, propagation=Propagation.BLOCK, actor=make_user(role))
