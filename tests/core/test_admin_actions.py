"""Every admin bulk action of every app (issue 18, Admin): one confirmation step that lists the
selected objects and requires a reason (no choice preselected), then the same service as the API
with that reason and the acting user, then a report of what was done (n changed, n refused and why).

``CASES`` has one row per action; ``test_every_admin_action_has_a_case`` fails when an action is
added to any ModelAdmin without a row here, so no action escapes these checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.services import token_create
from audit.models import AuditEvent
from catalog.models import Classification, DataAsset
from compliance.access import grants
from compliance.policies.models import AccessGrant, LegalHold, RegulationPack
from compliance.retention import holds
from compliance.scanning import services as scanning
from lineage.choices import NodeType, Propagation
from lineage.models import Edge
from lineage.services import edge_set_propagation
from tests.factories import AssetFactory, ClassificationFactory

pytestmark = pytest.mark.django_db


@dataclass
class Ctx:
    users: dict[str, Any]
    tmp_path: Any
    capture: Any
    _edge: Edge | None = None

    def edge(self) -> Edge:
        if self._edge is None:
            from tests.lineage import scenario

            scenario.build(self.users["service"], self.capture)
            self._edge = Edge.objects.filter(src_type=NodeType.COLUMN, valid_to__isnull=True).order_by("pk").first()
        return self._edge


@dataclass
class Case:
    label: str  # the ModelAdmin's model
    action: str
    event: str  # the audit action the service writes
    setup: Callable[[Ctx], Any]
    role: str = "steward"
    extra: Callable[[Ctx], dict[str, Any]] = field(default=lambda ctx: {})
    # the id the service's audit event targets: the selected object, or what the action made of it
    target: Callable[[Any], Any] = field(default=lambda obj: obj.pk)


def _token(ctx):
    return token_create(user=ctx.users["service"], actor=ctx.users["admin"], name="etl")[0]


def _grant(ctx, approved=False):
    grant = grants.grant_request(
        user=ctx.users["viewer"], asset=AssetFactory(sensitivity="confidential"), purpose="research", actor=ctx.users["viewer"]
    )
    if approved:
        grants.grant_approve(grant=grant, actor=ctx.users["steward"], reason="setup")
    return grant


def _hold(ctx):
    return holds.legal_hold_place(asset=AssetFactory(), reference="CASE-1", actor=ctx.users["steward"], reason="setup")


def _scan(ctx):
    return scanning.scan_start(
        actor=ctx.users["steward"], asset=AssetFactory(location=str(ctx.tmp_path / "x.csv")), dispatch=False
    )


def _blocked_edge(ctx):
    edge = ctx.edge()
    return edge_set_propagation(edge=edge, propagation=Propagation.BLOCK, actor=ctx.users["steward"], reason="setup")


def _pack(enabled):
    def make(ctx):
        pack = RegulationPack.objects.get(code="ccpa")
        pack.enabled = enabled
        pack.save(update_fields=["enabled"])
        return pack

    return make


def _quality_suite(ctx):
    """A per-asset quality suite on a small file whose row count fails (monitoring.services.quality_suites)."""
    import pandas as pd

    from monitoring import services as monitoring_services

    path = ctx.tmp_path / "today.csv"
    pd.DataFrame({"id": range(20), "amount": range(20)}).to_csv(path, index=False)
    return monitoring_services.quality_suite_create(
        actor=ctx.users["steward"], asset=AssetFactory(location=str(path)), name="daily", checks={"row_count": {"min": 1000}}
    )


def _quality_alert(ctx):
    from monitoring import services as monitoring_services

    run = monitoring_services.quality_suite_run(actor=ctx.users["steward"], suite=_quality_suite(ctx))
    return run.suite.alerts.get()


def _pickle_artifact(ctx):
    import pickle

    from monitoring.explain import services as explain_services
    from tests.factories import ModelVersionFactory

    ctx.tmp_path.joinpath("media").mkdir(exist_ok=True)
    return explain_services.artifact_upload(
        actor=ctx.users["steward"], model_version=ModelVersionFactory(), data=pickle.dumps({"weights": [1, 2]})
    )


CASES = [
    Case("accounts.ApiToken", "revoke", "accounts.token.revoke", _token, role="admin"),
    Case(
        "catalog.DataAsset",
        "assign_owner",
        "catalog.asset.set_owners",
        lambda ctx: AssetFactory(),
        extra=lambda ctx: {"owner": ctx.users["admin"].pk},
    ),
    Case(
        "catalog.DataAsset",
        "set_sensitivity",
        "catalog.asset.update",
        lambda ctx: AssetFactory(sensitivity="internal"),
        extra=lambda ctx: {"sensitivity": "restricted"},
    ),
    Case("catalog.DataAsset", "delete_assets", "catalog.asset.delete", lambda ctx: AssetFactory()),
    Case("catalog.Classification", "confirm", "catalog.classification.confirm", lambda ctx: ClassificationFactory()),
    Case("catalog.Classification", "reject", "catalog.classification.reject", lambda ctx: ClassificationFactory()),
    Case("lineage.Edge", "block_propagation", "lineage.edge.set_propagation", lambda ctx: ctx.edge()),
    Case("lineage.Edge", "allow_propagation", "lineage.edge.set_propagation", lambda ctx: ctx.edge()),
    Case("lineage.Edge", "reset_propagation", "lineage.edge.set_propagation", _blocked_edge),
    Case("scanning.ScanRun", "cancel_scans", "scanning.scan.cancel", _scan),
    Case("policies.RegulationPack", "enable", "policies.pack.enable", _pack(False)),
    Case("policies.RegulationPack", "disable", "policies.pack.disable", _pack(True)),
    Case("policies.LegalHold", "release", "policies.legal_hold.release", _hold),
    Case("policies.AccessGrant", "approve", "policies.grant.approve", _grant),
    Case("policies.AccessGrant", "reject", "policies.grant.reject", _grant),
    Case("policies.AccessGrant", "revoke", "policies.grant.revoke", lambda ctx: _grant(ctx, approved=True)),
    Case(
        "monitoring.QualitySuite",
        "run_now",
        "monitoring.quality_run_start",
        _quality_suite,
        target=lambda suite: suite.runs.latest("pk").pk,  # the event is about the run the action started
    ),
    Case("monitoring.QualityAlert", "acknowledge", "monitoring.quality_alert_acknowledge", _quality_alert),
    Case("monitoring.QualityAlert", "resolve", "monitoring.quality_alert_resolve", _quality_alert),
    Case("explain.ModelArtifact", "mark_trusted", "explain.artifact_trust", _pickle_artifact, role="admin"),
]
IDS = [f"{c.label}.{c.action}" for c in CASES]


@pytest.fixture
def ctx(users, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path / "media")  # uploaded model artifacts
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    return Ctx(users=users, tmp_path=tmp_path, capture=django_capture_on_commit_callbacks)


def _changelist(case: Case) -> str:
    app_label, model = case.label.lower().split(".")
    return reverse(f"admin:{app_label}_{model}_changelist")


def _description(case: Case) -> str:
    from django.apps import apps

    model_admin = admin.site._registry[apps.get_model(case.label)]
    return {name: text for _, name, text in model_admin._get_base_actions()}[case.action]


def _events_after(last: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))


def _last() -> int:
    event = AuditEvent.objects.order_by("-pk").first()
    return event.pk if event else 0


def test_every_admin_action_has_a_case():
    declared = {(c.label, c.action) for c in CASES}
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or []:
            name = action if isinstance(action, str) else action.__name__
            assert (model._meta.label, name) in declared, f"{model._meta.label}.{name} has no confirmation/reason case"


def test_djangos_bulk_delete_without_a_reason_is_off_everywhere(users):
    for model, model_admin in admin.site._registry.items():
        request = type("R", (), {"user": users["admin"], "GET": {}, "POST": {}})()
        assert "delete_selected" not in model_admin.get_actions(request), model._meta.label


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_it_asks_for_confirmation_and_a_reason_before_anything_changes(client, ctx, case):
    obj = case.setup(ctx)
    client.force_login(ctx.users[case.role])
    before = _last()

    page = client.post(_changelist(case), {"action": case.action, "_selected_action": [obj.pk]})

    assert page.status_code == 200
    assert "admin/custos/confirm_action.html" in [t.name for t in page.templates]
    assert [o.pk for o, _ in page.context["preview"]] == [obj.pk] and page.context["total"] == 1
    html = page.content.decode()
    assert 'name="reason"' in html and 'name="apply"' in html and "Cancel, change nothing" in html
    form = page.context["form"]
    assert form.fields["reason"].required
    # nothing preselected: no destructive or lowering choice is one click away
    assert all(form[name].value() in (None, "") for name in form.fields), {n: form[n].value() for n in form.fields}
    assert _events_after(before) == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_it_refuses_to_apply_without_a_reason(client, ctx, case):
    obj = case.setup(ctx)
    client.force_login(ctx.users[case.role])
    before = _last()

    page = client.post(
        _changelist(case),
        {"action": case.action, "_selected_action": [obj.pk], "apply": "1", "reason": "   ", **case.extra(ctx)},
    )

    assert page.status_code == 200 and page.context["form"].errors["reason"] == ["This field is required."]
    assert _events_after(before) == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_service_audit_event_carries_the_reason_and_the_actor(client, ctx, case):
    obj = case.setup(ctx)
    user = ctx.users[case.role]
    client.force_login(user)
    reason = f"ticket GOV-{len(case.action)}: {case.action} reviewed"
    before = _last()

    response = client.post(
        _changelist(case),
        {"action": case.action, "_selected_action": [obj.pk], "apply": "1", "reason": reason, **case.extra(ctx)},
        follow=True,
    )

    assert response.status_code == 200
    said = [str(m) for m in response.context["messages"]]
    assert said == [f"{_description(case)}: 1 changed, 0 refused."], said
    events = [e for e in _events_after(before) if e.action == case.event]
    assert len(events) == 1, [e.action for e in _events_after(before)]
    assert events[0].reason == reason and events[0].actor_id == str(user.pk)
    assert events[0].target_id == str(case.target(obj))


def test_it_reports_changed_unchanged_and_refused_with_the_reason(client, ctx):
    """Two holds, one already released: 1 changed, 1 refused and why; the page is not a 500."""
    active, released = _hold(ctx), _hold(ctx)
    holds.legal_hold_release(hold=released, actor=ctx.users["steward"], reason="earlier")
    client.force_login(ctx.users["steward"])

    response = client.post(
        reverse("admin:policies_legalhold_changelist"),
        {"action": "release", "_selected_action": [active.pk, released.pk], "apply": "1", "reason": "case closed"},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Release the selected holds: 1 changed, 1 refused.",
        f"Refused (1): this hold is already released -- {LegalHold.objects.get(pk=released.pk)}",
    ]
    assert LegalHold.objects.get(pk=active.pk).released_at is not None


def test_a_sensitivity_below_the_classifications_floor_is_refused_with_the_services_reason(client, ctx):
    confirmed = ClassificationFactory(state="suggested", sensitivity="restricted")
    from catalog.services import classification_confirm

    classification_confirm(classification=confirmed, actor=ctx.users["steward"], reason="setup")
    asset = DataAsset.objects.get(pk=confirmed.column.asset_id)
    other = AssetFactory(sensitivity="confidential")
    client.force_login(ctx.users["steward"])

    response = client.post(
        reverse("admin:catalog_dataasset_changelist"),
        {
            "action": "set_sensitivity",
            "_selected_action": [asset.pk, other.pk],
            "apply": "1",
            "reason": "public release",
            "sensitivity": "public",
        },
        follow=True,
    )

    said = [str(m) for m in response.context["messages"]]
    assert response.status_code == 200 and said[0] == "Set sensitivity of selected assets: 1 changed, 1 refused."
    assert said[1].startswith("Refused (1): ") and said[1].endswith(f" -- {asset}")
    asset.refresh_from_db()
    other.refresh_from_db()
    assert (asset.sensitivity, other.sensitivity) == ("restricted", "public")


def test_the_same_owner_again_is_reported_unchanged_and_writes_no_event(client, ctx):
    asset = AssetFactory()
    owner = ctx.users["admin"]
    asset.owners.set([owner])
    client.force_login(ctx.users["steward"])
    before = _last()

    response = client.post(
        reverse("admin:catalog_dataasset_changelist"),
        {"action": "assign_owner", "_selected_action": [asset.pk], "apply": "1", "reason": "r", "owner": owner.pk},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Assign an owner to selected assets: 0 changed, 1 unchanged, 0 refused."
    ]
    assert _events_after(before) == []


def test_select_across_applies_to_every_filtered_object_after_one_confirmation(client, ctx):
    for _ in range(3):
        ClassificationFactory(entity_type="PHONE_NUMBER")
    ClassificationFactory(entity_type="EMAIL_ADDRESS")
    client.force_login(ctx.users["steward"])
    url = reverse("admin:catalog_classification_changelist") + "?entity_type=PHONE_NUMBER"
    first = Classification.objects.filter(entity_type="PHONE_NUMBER").first()
    page = client.post(url, {"action": "reject", "_selected_action": [first.pk], "select_across": "1"})
    assert page.status_code == 200 and page.context["total"] == 3
    assert 'name="select_across" value="1"' in page.content.decode()

    client.post(
        url, {"action": "reject", "_selected_action": [first.pk], "select_across": "1", "apply": "1", "reason": "not phones"}
    )

    assert set(Classification.objects.filter(entity_type="PHONE_NUMBER").values_list("state", flat=True)) == {"rejected"}
    assert Classification.objects.get(entity_type="EMAIL_ADDRESS").state == "suggested"
    assert AuditEvent.objects.filter(action="catalog.classification.reject", reason="not phones").count() == 3


def test_the_confirmation_page_shows_each_objects_current_state(client, ctx):
    grant = _grant(ctx)
    client.force_login(ctx.users["steward"])
    page = client.post(reverse("admin:policies_accessgrant_changelist"), {"action": "reject", "_selected_action": [grant.pk]})
    state = {o.pk: s for o, s in page.context["preview"]}[grant.pk]
    assert state == f"{grant.user} on {grant.asset} for research: requested"
    assert AccessGrant.objects.get(pk=grant.pk).state == "requested"
