"""The admin writes through the services: the same audit trail as the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from compliance.policies import services
from compliance.policies.models import AccessGrant, RegulationRule
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_overriding_a_rule_in_the_admin_is_audited(client, users):
    client.force_login(users["admin"])
    rule = RegulationRule.objects.get(code="ccpa.sale-share-undeclared")
    url = reverse("admin:policies_regulationrule_change", args=[rule.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"severity": "low", "enabled": "on", "params": '{"tags": ["ccpa-sold"]}', "override_reason": "we never sell"}
    )
    assert response.status_code == 302, response.content[:500]
    rule.refresh_from_db()
    assert rule.severity == "low" and rule.overridden and rule.override_reason == "we never sell"
    assert AuditEvent.objects.filter(
        action="policies.rule.override", target_id=str(rule.pk), actor_id=str(users["admin"].pk)
    ).exists()


def test_approving_a_grant_from_the_admin_list_is_audited(client, users):
    asset = AssetFactory(sensitivity="confidential")
    grant = services.grant_request(user=users["viewer"], asset=asset, purpose="research", actor=users["viewer"])
    client.force_login(users["admin"])
    response = client.post(
        reverse("admin:policies_accessgrant_changelist"),
        {"action": "approve", "_selected_action": [grant.pk], "apply": "1", "reason": "IRB 2026-14"},
    )
    assert response.status_code == 302
    assert AccessGrant.objects.get(pk=grant.pk).state == "approved"
    assert AuditEvent.objects.filter(action="policies.grant.approve", target_id=str(grant.pk), reason="IRB 2026-14").exists()


def test_admin_pages_load(client, users):
    client.force_login(users["admin"])
    for name in (
        "regulationpack",
        "regulationrule",
        "policy",
        "legalhold",
        "accessgrant",
        "finding",
        "anonymizationrun",
        "retentionrun",
    ):
        assert client.get(reverse(f"admin:policies_{name}_changelist")).status_code == 200, name
