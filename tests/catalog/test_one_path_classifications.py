"""One service per operation (issue 12): confirming or rejecting a classification through the API,
through the admin action (after its confirmation step) and through the review queue page
(``/review/decide/``) runs ``classification_confirm`` / ``classification_reject`` and gives the same
result and the same ledger events, in the same order, with the reason given; a role without
``decide`` is refused by all three and nothing is written.

There is no management command that decides classifications (``manage.py scan`` only suggests them),
so the entry points are the API, the admin and the review page. Each entry point decides its own copy of one
scenario (a scan suggestion on a column of an ``internal`` asset), built identically; ids are
replaced by their role in the scenario before comparing.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import Classification, DataAsset
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

pytestmark = pytest.mark.django_db

REASON = "matches the data dictionary (ticket GOV-7)"
_REFUSED = {
    step: [f"auditor may not run “{step.capitalize()} selected classifications”: it needs the decide permission"]
    for step in ("confirm", "reject")
}


def _scenario(n: int) -> Classification:
    asset = AssetFactory(qualified_name=f"crm.customers_{n}", sensitivity="internal")
    column = ColumnFactory(asset=asset, name="contact_email")
    return ClassificationFactory(column=column, entity_type="EMAIL_ADDRESS", sensitivity="restricted", confidence=0.93)


def _last() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events(since: int, classification: Classification) -> list[tuple]:
    """(action, target type, target, actor, reason, details) with this scenario's ids named."""
    column_id, asset_id = classification.column_id, classification.column.asset_id
    targets = {
        ("catalog.classification", str(classification.pk)): "<classification>",
        ("catalog.column", str(column_id)): "<column>",
        ("catalog.dataasset", str(asset_id)): "<asset>",
    }
    named = {"column_id": (column_id, "<column>"), "asset_id": (asset_id, "<asset>")}

    def details(value: dict) -> dict:
        return {k: named[k][1] if k in named and v == named[k][0] else v for k, v in value.items()}

    return [
        (
            e.action,
            e.target_type,
            targets.get((e.target_type, e.target_id), e.target_id),
            e.actor_name,
            e.reason.replace(f"column {column_id}", "column <column>"),
            details(e.details),
        )
        for e in AuditEvent.objects.filter(id__gt=since).order_by("id")
    ]


def _result(classification: Classification) -> tuple:
    c = Classification.objects.select_related("column__asset").get(pk=classification.pk)
    asset = DataAsset.objects.get(pk=c.column.asset_id)
    return (c.state, c.sensitivity, c.decided_by_id, c.decision_reason, c.decided_at is not None, asset.sensitivity)


def _via_api(api_as, role: str, step: str, classification: Classification) -> int:
    response = api_as(role).post(reverse(f"classification-{step}", args=[classification.pk]), {"reason": REASON}, format="json")
    return response.status_code


def _via_admin(client, step: str, classification: Classification) -> list[str]:
    url = reverse("admin:catalog_classification_changelist")
    first = client.post(url, {"action": step, "_selected_action": [classification.pk]}, follow=True)
    if "admin/custos/confirm_action.html" in [t.name for t in first.templates]:
        assert Classification.objects.get(pk=classification.pk).state == "suggested"  # nothing before the reason
    else:  # refused before the confirmation step: the same refusal as on "apply" below
        assert [str(m) for m in first.context["messages"]] == _REFUSED.get(step, [])
    response = client.post(
        url, {"action": step, "_selected_action": [classification.pk], "apply": "1", "reason": REASON}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def _via_review(client, step: str, classification: Classification) -> list[str]:
    response = client.post(
        reverse("review:decide"), {"ids": [classification.pk], "decision": step, "reason": REASON}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("step", ["confirm", "reject"])
def test_the_api_the_admin_action_and_the_review_page_give_the_same_result_and_the_same_events(client, api_as, users, step):
    steward = users["steward"]
    by_api, by_admin, by_review = _scenario(1), _scenario(2), _scenario(3)

    before = _last()
    assert _via_api(api_as, "steward", step, by_api) == 200
    api_events = _events(before, by_api)

    client.force_login(steward)  # the sign-in is audited too: before the comparison starts
    before = _last()
    said = _via_admin(client, step, by_admin)
    admin_events = _events(before, by_admin)

    before = _last()
    said_on_page = _via_review(client, step, by_review)
    review_events = _events(before, by_review)

    assert said == [f"{step.capitalize()} selected classifications: 1 changed, 0 refused."]
    past = "Accepted" if step == "confirm" else "Rejected"
    assert said_on_page == [f"{past} 1 suggestion: EMAIL_ADDRESS on {by_review.column.asset.name}.contact_email."]
    assert _result(by_api) == _result(by_admin) == _result(by_review)
    assert api_events == review_events
    assert _result(by_api)[:4] == ("confirmed" if step == "confirm" else "rejected", "restricted", steward.pk, REASON)
    assert api_events == admin_events
    decision = [e for e in api_events if e[0] == f"catalog.classification.{step}"]
    assert len(decision) == 1 and decision[0][3:5] == (steward.username, REASON)
    if step == "confirm":
        # confirming raises the asset to the classification's sensitivity, audited by the same service
        assert _result(by_api)[5] == "restricted"
        assert [e[0] for e in api_events] == ["catalog.classification.confirm", "catalog.asset.update"]
    else:
        assert _result(by_api)[5] == "internal"
        assert [e[0] for e in api_events] == ["catalog.classification.reject"]


@pytest.mark.parametrize("step", ["confirm", "reject"])
def test_every_entry_point_refuses_an_auditor_alike_and_writes_nothing(client, api_as, users, step):
    by_api, by_admin, by_review = _scenario(1), _scenario(2), _scenario(3)
    client.force_login(users["auditor"])
    before = _last()

    assert _via_api(api_as, "auditor", step, by_api) == 403
    said = _via_admin(client, step, by_admin)
    said_on_page = _via_review(client, step, by_review)

    assert said == _REFUSED[step]
    assert said_on_page == ["Refused, nothing changed for 1 suggestion: auditor may not decide classifications."]
    expected = ("suggested", "restricted", None, "", False, "internal")
    assert _result(by_api) == _result(by_admin) == _result(by_review) == expected
    assert _events(before, by_api) == []
