"""API of compliance.policies: permissions per role, the error envelope, runs and holds, query counts."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.models import AuditEvent
from compliance.policies import services
from compliance.policies.models import Finding
from tests.compliance.policies.conftest import make_patients

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/regulation-packs",
    "/api/v1/regulation-rules",
    "/api/v1/policies",
    "/api/v1/findings",
    "/api/v1/compliance/posture",
]
STEWARD_WRITES = [
    ("/api/v1/regulation-packs", {"document": {}}),
    ("/api/v1/legal-holds", {"asset": 1, "reference": "X"}),
    ("/api/v1/anonymization-runs", {"asset": 1, "policy": "hipaa-safe-harbor"}),
    ("/api/v1/retention-runs", {"dry_run": True}),
]


@pytest.mark.parametrize("url", READS)
def test_reads_need_a_login_and_any_role_may_read(api, api_as, url):
    assert api.get(url).status_code in (401, 403)
    assert api_as("viewer").get(url).status_code == 200


@pytest.mark.parametrize(("url", "payload"), STEWARD_WRITES)
@pytest.mark.parametrize("role", ["viewer", "auditor", "service"])
def test_steward_work_is_refused_to_other_roles_in_the_error_envelope(api_as, role, url, payload):
    response = api_as(role).post(url, payload, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403


def test_a_steward_anonymizes_an_asset_through_the_api(
    api_as, file_asset, settings, tmp_path, django_capture_on_commit_callbacks, eager_celery
):
    settings.VAR_DIR = tmp_path / "var"
    asset = file_asset(make_patients(40), "patients_api", sensitivity="confidential")
    queued = api_as("steward").post(
        "/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "gdpr-pseudonymize"}, format="json"
    )
    assert queued.status_code == 202 and queued.json()["status"] == "queued"  # a worker takes it after commit
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as("steward").post(
            "/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "hipaa-safe-harbor"}, format="json"
        )
    assert response.status_code == 202, response.content
    body = api_as("steward").get(f"/api/v1/anonymization-runs/{response.json()['id']}").json()
    assert body["status"] == "succeeded" and body["report"]["passed"] and body["target_asset"]
    assert body["output_path"].startswith(str(settings.VAR_DIR))
    outside = api_as("steward").post(
        "/api/v1/anonymization-runs",
        {"asset": asset.pk, "policy": "hipaa-safe-harbor", "output_path": "/tmp/elsewhere.csv"},
        format="json",
    )
    assert outside.status_code == 400 and outside.json()["error"]["code"] == "invalid"
    unknown = api_as("steward").post("/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "nope"}, format="json")
    assert unknown.status_code == 400 and "unknown policy" in unknown.json()["error"]["message"]


def test_legal_holds_through_the_api(api_as, file_asset):
    asset = file_asset(pd.DataFrame({"a": ["1"]}), "held")
    created = api_as("steward").post(
        "/api/v1/legal-holds", {"asset": asset.pk, "reference": "CASE-9", "reason": "subpoena"}, format="json"
    )
    assert created.status_code == 201, created.content
    hold_id = created.json()["id"]
    released = api_as("steward").post(f"/api/v1/legal-holds/{hold_id}/release", {"reason": "closed"}, format="json")
    assert released.status_code == 200 and released.json()["released_at"]
    again = api_as("steward").post(f"/api/v1/legal-holds/{hold_id}/release", {}, format="json")
    assert again.status_code == 400


def test_token_reveal_api(api_as):
    from compliance.policies import keys

    token = keys.keyring().encrypt_siv(["jane@example.org"])[0]
    refused = api_as("viewer").post(
        "/api/v1/tokens/reveal", {"token": token, "purpose": "support", "reason": "ticket 1"}, format="json"
    )
    assert refused.status_code == 403
    revealed = api_as("steward").post(
        "/api/v1/tokens/reveal", {"token": token, "purpose": "support", "reason": "ticket 1"}, format="json"
    )
    assert revealed.status_code == 200 and revealed.json() == {"value": "jane@example.org"}
    for event in AuditEvent.objects.filter(action__startswith="policies.token."):
        assert "jane@example.org" not in str(event.details) + event.reason


@pytest.mark.parametrize("role", ["auditor", "service", "viewer"])
def test_token_reveal_checks_the_role_before_the_body_and_audits_the_refusal(api_as, role):
    for body in ({}, {"token": "not a token"}, {"token": 5, "purpose": ["x"]}):
        response = api_as(role).post("/api/v1/tokens/reveal", body, format="json")
        assert response.status_code == 403, (body, response.content)
        assert response.json()["error"]["message"] == f"{role} may not decide tokens (revealing one is a steward decision)"
    refusals = AuditEvent.objects.filter(action="policies.token.reveal_denied")
    assert refusals.count() == 3 and {e.details["role"] for e in refusals} == {role}
    # a steward with a malformed body gets the validation answer
    assert api_as("steward").post("/api/v1/tokens/reveal", {}, format="json").status_code == 400


def test_admin_actions_run_the_services_for_stewards_and_are_refused_with_the_reason(users):
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    from compliance.policies.models import RegulationPack

    pack = RegulationPack.objects.get(code="ccpa")
    model_admin = admin.site._registry[RegulationPack]

    def run(role):
        request = RequestFactory().post("/admin/", {"apply": "1", "reason": "not in scope"})  # the confirmation step's answer
        request.user = users[role]
        request.session = {}
        request._messages = FallbackStorage(request)
        actions = model_admin.get_actions(request)
        if "disable" not in actions:
            return None
        actions["disable"][0](model_admin, request, RegulationPack.objects.filter(pk=pack.pk))
        return [str(m) for m in request._messages]

    assert run("auditor") is None  # hidden: auditors hold no decide
    assert run("steward") == ["Disable the selected packs: 1 changed, 0 refused."]
    pack.refresh_from_db()
    assert pack.enabled is False
    assert AuditEvent.objects.filter(action="policies.pack.disable", target_id=str(pack.pk)).exists()


def test_a_dry_run_retention_through_the_api(api_as):
    response = api_as("steward").post("/api/v1/retention-runs", {"dry_run": True}, format="json")
    assert response.status_code == 201 and response.json()["dry_run"] is True


def test_findings_list_query_count_does_not_grow_with_findings(api_as, file_asset, django_assert_max_num_queries):
    for i in range(6):
        asset = file_asset(pd.DataFrame({"email": ["a@example.org"]}), f"contacts{i}")
        from catalog.models import Classification

        Classification.objects.create(
            column=asset.columns.get(name="email"), entity_type="EMAIL_ADDRESS", source="steward", state="confirmed"
        )
        services.policy_evaluate(actor="test", asset=asset)
    assert Finding.objects.count() >= 12
    client = api_as("steward")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/findings")
    assert response.status_code == 200 and response.json()["count"] >= 12
