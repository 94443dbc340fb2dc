"""Access decisions: a matrix of roles x purposes x sensitivities, grants, steward policies, the
decide endpoint and the data-sample endpoint; every decision is an audit event."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.choices import Role
from audit.models import AuditEvent
from compliance.access import grants
from compliance.access.rules import decide
from compliance.policies import services
from tests.factories import AssetFactory, ColumnFactory

pytestmark = pytest.mark.django_db

SENSITIVITIES = ["public", "internal", "confidential", "restricted"]
A, M, D = "allow", "allow_masked", "deny"
# role -> purpose -> effect per sensitivity (public, internal, confidential, restricted), for an
# asset holding ordinary personal data (an e-mail column).
EXPECTED = {
    Role.ADMIN: {"analytics": (A, A, A, M), "marketing": (A, A, A, M), "audit": (A, A, A, M)},
    Role.STEWARD: {"analytics": (A, A, A, M), "marketing": (A, A, A, M), "audit": (A, A, A, M)},
    Role.AUDITOR: {"analytics": (D, D, D, D), "marketing": (D, D, D, D), "audit": (A, A, M, M)},
    Role.SERVICE: {"analytics": (A, A, M, D), "marketing": (A, A, M, D), "audit": (A, A, M, D)},
    Role.VIEWER: {"analytics": (A, M, D, D), "marketing": (A, M, D, D), "audit": (A, M, D, D)},
}


def classified_asset(sensitivity: str, entity_type: str = "EMAIL_ADDRESS", **fields):
    """A consistent asset: its confirmed classification implies no more than its own sensitivity
    (a decision never uses less than that floor; see test_masking_follows_classified_columns.py)."""
    asset = AssetFactory(sensitivity=sensitivity, **fields)
    column = ColumnFactory(asset=asset, name="contact")
    from catalog.models import Classification

    Classification.objects.create(
        column=column, entity_type=entity_type, source="steward", state="confirmed", sensitivity=sensitivity
    )
    return asset


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_decision_matrix_of_roles_and_purposes_on_personal_data(users, sensitivity):
    asset = classified_asset(sensitivity)
    column = SENSITIVITIES.index(sensitivity)
    for role, purposes in EXPECTED.items():
        for purpose, effects in purposes.items():
            decision = decide(user=users[role], asset=asset, purpose=purpose)
            assert decision.effect == effects[column], (role, purpose, sensitivity, decision.reasons)
            assert decision.reasons
            assert decision.masked_columns == (["contact"] if decision.effect == M else [])


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("role", Role.values)
def test_health_data_is_never_released_for_marketing(users, role, sensitivity):
    asset = classified_asset(sensitivity, entity_type="HEALTH_DATA")
    decision = decide(user=users[role], asset=asset, purpose="marketing")
    assert decision.effect == D
    assert any("Art. 9(1)" in r and "1798.121" in r for r in decision.reasons)
    # the same role for analytics follows the ordinary matrix
    assert (
        decide(user=users[role], asset=asset, purpose="analytics").effect
        == EXPECTED[role]["analytics"][SENSITIVITIES.index(sensitivity)]
    )


@pytest.mark.parametrize("purpose", ["", "curiosity"])
def test_no_valid_purpose_means_deny_for_everyone(users, purpose):
    asset = classified_asset("public")
    for role in Role.values:
        assert decide(user=users[role], asset=asset, purpose=purpose).effect == D


def test_anonymous_users_and_deleted_assets_are_denied(users):
    from django.contrib.auth.models import AnonymousUser

    asset = classified_asset("public")
    assert decide(user=AnonymousUser(), asset=asset, purpose="analytics").effect == D
    asset.status = "deleted"
    asset.save()
    assert decide(user=users[Role.ADMIN], asset=asset, purpose="analytics").effect == D


def test_a_purpose_outside_the_recorded_purposes_masks_identifiers(users):
    asset = classified_asset("internal", processing_purposes=["treatment", "operations"])
    assert decide(user=users[Role.STEWARD], asset=asset, purpose="operations").effect == A
    decision = decide(user=users[Role.STEWARD], asset=asset, purpose="analytics")
    assert decision.effect == M and any("Art. 5(1)(b)" in r for r in decision.reasons)


def test_an_approved_grant_lifts_a_deny_until_it_expires_or_is_revoked(users):
    asset = classified_asset("confidential")
    viewer, steward = users[Role.VIEWER], users[Role.STEWARD]
    assert decide(user=viewer, asset=asset, purpose="research").effect == D
    grant = services.grant_request(user=viewer, asset=asset, purpose="research", actor=viewer, justification="study 7", days=7)
    assert decide(user=viewer, asset=asset, purpose="research").effect == D  # requested is not approved
    with pytest.raises(PermissionDenied):
        services.grant_approve(grant=grant, actor=viewer)
    own = services.grant_request(user=steward, asset=asset, purpose="research", actor=steward)
    with pytest.raises(ValidationError, match="other than"):
        services.grant_approve(grant=own, actor=steward)
    services.grant_approve(grant=grant, actor=steward, reason="IRB approval 7")
    decision = decide(user=viewer, asset=asset, purpose="research")
    assert decision.effect == A and decision.grant_id == grant.pk
    assert decide(user=viewer, asset=asset, purpose="analytics").effect == D  # the grant is for research only
    grants.grant_revoke(grant=grant, actor=steward, reason="study closed")
    assert decide(user=viewer, asset=asset, purpose="research").effect == D
    grant_events = AuditEvent.objects.filter(target_type="policies.accessgrant", target_id=str(grant.pk))
    assert list(grant_events.order_by("id").values_list("action", flat=True)) == [
        "policies.grant.request",
        "policies.grant.approve",
        "policies.grant.revoke",
    ]


def test_an_expired_grant_grants_nothing(users):
    asset = classified_asset("confidential")
    viewer = users[Role.VIEWER]
    past = timezone.now() - timedelta(days=10)
    grant = services.grant_request(
        user=viewer, asset=asset, purpose="research", actor=viewer, valid_from=past, valid_until=past + timedelta(days=1)
    )
    services.grant_approve(grant=grant, actor=users[Role.STEWARD])
    assert decide(user=viewer, asset=asset, purpose="research").effect == D


def test_a_steward_policy_denies_services_training_on_health_data_and_a_grant_cannot_override_it(users):
    asset = classified_asset("internal", entity_type="HEALTH_DATA")
    service = users[Role.SERVICE]
    assert decide(user=service, asset=asset, purpose="model_training").effect == A
    services.policy_create(
        actor=users[Role.STEWARD],
        name="no training on PHI",
        kind="access",
        config={
            "rules": [
                {
                    "roles": ["service"],
                    "purposes": ["model_training"],
                    "categories": ["hipaa:*"],
                    "effect": "deny",
                    "reason": "train on the Safe Harbor copy",
                }
            ]
        },
    )
    decision = decide(user=service, asset=asset, purpose="model_training")
    assert decision.effect == D and decision.policy_ids and "Safe Harbor copy" in " ".join(decision.reasons)
    grant = services.grant_request(user=service, asset=asset, purpose="model_training", actor=users[Role.STEWARD])
    services.grant_approve(grant=grant, actor=users[Role.ADMIN])
    assert decide(user=service, asset=asset, purpose="model_training").effect == D


def test_access_policies_are_validated(users):
    with pytest.raises(ValidationError):
        services.policy_create(actor=users[Role.STEWARD], name="bad", kind="access", config={"rules": [{"effect": "maybe"}]})
    with pytest.raises(ValidationError):
        services.policy_create(
            actor=users[Role.STEWARD], name="bad2", kind="access", config={"rules": [{"roles": ["god"], "effect": "deny"}]}
        )


# --- API -----------------------------------------------------------------------------------------


def test_decide_endpoint_returns_the_decision_and_records_it(api_as, users):
    asset = classified_asset("confidential")
    response = api_as(Role.SERVICE).post(
        "/api/v1/access/decide", {"user": users[Role.VIEWER].username, "asset": asset.pk, "purpose": "analytics"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["effect"] == D and body["reasons"] and body["user"] == users[Role.VIEWER].username
    event = AuditEvent.objects.filter(action="policies.access.decide").latest("id")
    assert event.details["effect"] == D and event.details["user_id"] == users[Role.VIEWER].pk and event.reason


def test_decide_endpoint_for_oneself_and_refusals(api_as, api, users):
    asset = classified_asset("internal")
    mine = api_as(Role.VIEWER).post("/api/v1/access/decide", {"asset": asset.pk, "purpose": "analytics"}, format="json")
    assert mine.status_code == 200 and mine.json()["effect"] == M
    other = api_as(Role.VIEWER).post(
        "/api/v1/access/decide", {"user": users[Role.ADMIN].username, "asset": asset.pk, "purpose": "analytics"}, format="json"
    )
    assert other.status_code == 403 and other.json()["error"]["status"] == 403
    assert api.post("/api/v1/access/decide", {"asset": asset.pk, "purpose": "analytics"}, format="json").status_code in (401, 403)
    restricted = classified_asset("restricted")
    hidden = api_as(Role.VIEWER).post("/api/v1/access/decide", {"asset": restricted.pk, "purpose": "analytics"}, format="json")
    assert hidden.status_code == 404


@pytest.fixture
def sample_asset(file_asset):
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "email": ["a@example.org", "b@example.org", "c@example.org"],
            "tier": ["gold", "none", "gold"],
        }
    )

    def make(sensitivity):
        asset = file_asset(frame, f"customers_{sensitivity}", sensitivity=sensitivity)
        from catalog.models import Classification

        Classification.objects.create(
            column=asset.columns.get(name="email"),
            entity_type="EMAIL_ADDRESS",
            source="steward",
            state="confirmed",
            sensitivity=sensitivity,
        )
        return asset

    return make


def test_sample_endpoint_returns_rows_in_clear_masked_or_not_at_all(api_as, sample_asset, users):
    asset = sample_asset("internal")
    clear = api_as(Role.STEWARD).get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics")
    assert clear.status_code == 200, clear.content
    assert [r["email"] for r in clear.json()["rows"]] == ["a@example.org", "b@example.org", "c@example.org"]
    masked = api_as(Role.VIEWER).get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics&limit=2")
    body = masked.json()
    assert masked.status_code == 200 and body["decision"]["effect"] == M and len(body["rows"]) == 2
    assert all(r["email"].startswith("tok_") for r in body["rows"]) and body["rows"][0]["tier"] == "gold"
    confidential = sample_asset("confidential")
    denied = api_as(Role.VIEWER).get(f"/api/v1/assets/{confidential.pk}/sample?purpose=analytics")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "access_denied" and "rows" not in denied.json()
    reads = AuditEvent.objects.filter(action="policies.asset.sample_read")
    assert reads.count() == 2 and all("a@example.org" not in str(e.details) for e in reads)
    assert AuditEvent.objects.filter(action="policies.access.decide", details__channel="sample").count() == 3


def test_sample_endpoint_needs_a_purpose(api_as, sample_asset):
    asset = sample_asset("public")
    response = api_as(Role.STEWARD).get(f"/api/v1/assets/{asset.pk}/sample")
    assert response.status_code == 403 and "purpose is required" in response.json()["error"]["message"]


def test_grant_api_request_and_approval(api_as, users):
    asset = classified_asset("confidential")
    created = api_as(Role.VIEWER).post(
        "/api/v1/access-grants", {"asset": asset.pk, "purpose": "research", "justification": "thesis", "days": 5}, format="json"
    )
    assert created.status_code == 201, created.content
    grant_id = created.json()["id"]
    assert api_as(Role.VIEWER).post(f"/api/v1/access-grants/{grant_id}/approve", {}, format="json").status_code == 403
    approved = api_as(Role.STEWARD).post(f"/api/v1/access-grants/{grant_id}/approve", {"reason": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert decide(user=users[Role.VIEWER], asset=asset, purpose="research").effect == A


def test_policy_api_is_for_stewards(api_as):
    payload = {
        "name": "keep 1y",
        "kind": "retention",
        "config": {"max_age_days": 365, "date_column": "created_at", "action": "delete_rows"},
    }
    assert api_as(Role.VIEWER).post("/api/v1/policies", payload, format="json").status_code == 403
    created = api_as(Role.STEWARD).post("/api/v1/policies", payload, format="json")
    assert created.status_code == 201, created.content
    assert api_as(Role.VIEWER).get("/api/v1/policies").json()["count"] == 1
    bad = api_as(Role.STEWARD).post("/api/v1/policies", {**payload, "name": "x", "config": {"max_age_days": -1}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_masked_samples_also_mask_columns_named_as_identifiers_before_any_scan(api_as, file_asset):
    frame = pd.DataFrame({"customer_id": ["C1"], "phone": ["+1 617 555 0100"], "tier": ["gold"]})
    asset = file_asset(frame, "unscanned", sensitivity="internal")
    body = api_as(Role.VIEWER).get(f"/api/v1/assets/{asset.pk}/sample?purpose=analytics").json()
    assert body["decision"]["effect"] == M
    row = body["rows"][0]
    assert row["phone"].startswith("tok_") and row["customer_id"].startswith("tok_") and row["tier"] == "gold"
