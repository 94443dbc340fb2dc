"""The review queue, the posture dashboard and the ledger's verify action on the Django test
client: what each role sees, that decisions go through the catalog services with a reason, that
samples are exactly what the access decision allows, and bounded query counts."""

from __future__ import annotations

import pandas as pd
import pytest
from django.urls import reverse

from accounts.choices import Role
from audit.models import AuditEvent
from catalog import services as catalog_services
from catalog.models import Classification
from core import pages

pytestmark = pytest.mark.django_db

RAW = ["ann@example.org", "bob@example.org", "cy@example.org"]


@pytest.fixture(autouse=True)
def roots(settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    return tmp_path


def scan_evidence(share=0.9):
    return {
        "scan_run": 7,
        "share": share,
        "recognizers": ["UsSsnRecognizer"],
        "name_hint_used": True,
        "sampled": 250,
        "nonnull": 2000,
    }


@pytest.fixture
def make_asset(roots):
    """``make_asset(name, sensitivity=..., purposes=...)`` -> a CSV asset with suggestions on
    ``email`` (EMAIL_ADDRESS), ``ssn`` (US_SSN) and ``phone`` (PHONE_NUMBER)."""

    def make(name="customers", *, sensitivity="internal", purposes=(), **fields):
        path = roots / f"{name}.csv"
        pd.DataFrame(
            {
                "customer_id": ["C1", "C2", "C3"],
                "email": RAW,
                "ssn": ["123-45-6789", "234-56-7890", "345-67-8901"],
                "phone": ["(212) 555-0101", "(212) 555-0102", "(212) 555-0103"],
                "tier": ["gold", "none", "gold"],
            }
        ).to_csv(path, index=False)
        source = catalog_services.source_ensure(namespace=f"file://{roots}", actor="test", kind="file_share")
        asset = catalog_services.asset_register(
            actor="test",
            source=source,
            qualified_name=name,
            kind="file",
            location=str(path),
            sensitivity=sensitivity,
            processing_purposes=list(purposes),
            **fields,
        )
        columns = catalog_services.columns_sync(
            asset=asset,
            columns=[{"name": c, "position": i} for i, c in enumerate(["customer_id", "email", "ssn", "phone", "tier"])],
            actor="test",
        )
        for column, entity in (("email", "EMAIL_ADDRESS"), ("ssn", "US_SSN"), ("phone", "PHONE_NUMBER")):
            catalog_services.classification_suggest(
                column=columns[column], entity_type=entity, source="scan", actor="test", confidence=0.8, evidence=scan_evidence()
            )
        asset.cols = columns
        return asset

    return make


def suggestion(asset, column):
    return Classification.objects.get(column__asset=asset, column__name=column, source="scan")


def client_as(client, make_user, role):
    user = make_user(role)
    client.force_login(user)
    return user


def shown_ids(response) -> set[int]:
    return {c.pk for g in response.context["groups"] for row in g.suggestions for c in row.items}


# --- the queue --------------------------------------------------------------------------------------


def test_the_queue_lists_open_suggestions_by_asset_with_their_evidence(client, make_user, make_asset):
    asset = make_asset()
    client_as(client, make_user, Role.STEWARD)
    response = client.get(reverse("review:queue"))
    assert response.status_code == 200
    assert shown_ids(response) == set(Classification.objects.filter(column__asset=asset).values_list("pk", flat=True))
    html = response.content.decode()
    assert "UsSsnRecognizer: 90.0% of 250 sampled cells (2000 non-empty); the column name agreed" in html
    assert "scan run #7" in html and "3 open" in html
    assert 'class="decide"' in html and "Accept selected" in html and "<kbd>j</kbd>" in html
    assert not any(v in html for v in RAW)  # the queue itself never holds a value; samples load on their own


def test_a_suggestion_identical_to_a_steward_confirmed_label_is_not_open(client, make_user, make_asset):
    asset = make_asset()
    steward = client_as(client, make_user, Role.STEWARD)
    catalog_services.classification_assign(column=asset.cols["email"], entity_type="EMAIL_ADDRESS", actor=steward, reason="known")
    # a steward label of another type on the same column does not hide the suggestion
    catalog_services.classification_assign(column=asset.cols["ssn"], entity_type="PERSON", actor=steward, reason="x")
    response = client.get(reverse("review:queue"))
    assert shown_ids(response) == {suggestion(asset, "ssn").pk, suggestion(asset, "phone").pk}
    assert suggestion(asset, "email").state == "suggested"  # still a suggestion row, just not open
    dashboard = client.get(reverse("dashboard"))
    assert '<span class="big">2</span> suggestions on 1 asset' in dashboard.content.decode()


def test_a_steward_accepts_one_with_a_reason_through_the_catalog_service(client, make_user, make_asset):
    asset = make_asset()
    steward = client_as(client, make_user, Role.STEWARD)
    target = suggestion(asset, "ssn")
    response = client.post(
        reverse("review:decide"),
        {"ids": [target.pk], "decision": "confirm", "reason": "SSN format, 90%", "next": "/review/?page=1"},
    )
    assert response.status_code == 302 and response["Location"] == "/review/?page=1"
    target.refresh_from_db()
    assert (target.state, target.decided_by, target.decision_reason) == ("confirmed", steward, "SSN format, 90%")
    event = AuditEvent.objects.filter(action="catalog.classification.confirm").latest("id")
    assert event.actor_id == str(steward.pk) and event.reason == "SSN format, 90%"
    page = client.get(reverse("review:queue"))
    assert target.pk not in shown_ids(page)
    assert "Accepted 1 suggestion: US_SSN on customers.ssn." in page.content.decode()


def test_the_same_label_from_two_sources_is_one_row_and_one_decision(client, make_user, make_asset):
    asset = make_asset()
    client_as(client, make_user, Role.STEWARD)
    imported = catalog_services.classification_suggest(
        column=asset.cols["phone"], entity_type="PHONE_NUMBER", source="imported", actor="test", evidence={"openlineage": {}}
    )
    response = client.get(reverse("review:queue"))
    rows = response.context["groups"][0].suggestions
    phone = [row for row in rows if row.column.name == "phone"]
    assert len(rows) == 3 and len(phone) == 1 and {c.source for c in phone[0].items} == {"scan", "imported"}
    assert f'value="{phone[0].ids}"' in response.content.decode()  # the bulk checkbox carries both
    client.post(reverse("review:decide"), {"ids": [phone[0].ids], "decision": "confirm", "reason": "both agree"})
    assert {suggestion(asset, "phone").state, Classification.objects.get(pk=imported.pk).state} == {"confirmed"}


def test_no_reason_no_change(client, make_user, make_asset):
    asset = make_asset()
    client_as(client, make_user, Role.STEWARD)
    target = suggestion(asset, "ssn")
    response = client.post(reverse("review:decide"), {"ids": [target.pk], "decision": "reject", "reason": "  "}, follow=True)
    target.refresh_from_db()
    assert target.state == "suggested"
    assert "A reason is required" in response.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="catalog.classification.reject").exists()


def test_bulk_rejects_the_selected_suggestions_of_an_asset(client, make_user, make_asset):
    asset = make_asset()
    client_as(client, make_user, Role.STEWARD)
    ids = [suggestion(asset, "phone").pk, suggestion(asset, "email").pk]
    response = client.post(reverse("review:decide"), {"ids": ids, "decision": "reject", "reason": "test data only"}, follow=True)
    assert set(Classification.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"rejected"}
    assert suggestion(asset, "ssn").state == "suggested"
    assert "Rejected 2 suggestions" in response.content.decode()
    assert AuditEvent.objects.filter(action="catalog.classification.reject", reason="test data only").count() == 2
    again = client.post(reverse("review:decide"), {"ids": ids, "decision": "confirm", "reason": "changed my mind"}, follow=True)
    assert "nothing changed for 2 suggestions: already rejected" in again.content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AUDITOR, Role.SERVICE])
def test_roles_without_decide_read_the_queue_without_controls_and_a_forged_post_is_refused(client, make_user, make_asset, role):
    asset = make_asset()
    client_as(client, make_user, role)
    response = client.get(reverse("review:queue"))
    html = response.content.decode()
    assert response.status_code == 200 and shown_ids(response)
    assert 'class="decide"' not in html and "Accept selected" not in html and "Read-only" in html
    target = suggestion(asset, "ssn")
    forged = client.post(reverse("review:decide"), {"ids": [target.pk], "decision": "confirm", "reason": "forged"}, follow=True)
    target.refresh_from_db()
    assert target.state == "suggested"
    assert f"{role} may not decide classifications" in forged.content.decode()
    assert not AuditEvent.objects.filter(action="catalog.classification.confirm").exists()


def test_restricted_assets_stay_hidden_from_a_viewer(client, make_user, make_asset):
    asset = make_asset("vault", sensitivity="restricted")
    client_as(client, make_user, Role.VIEWER)
    assert not shown_ids(client.get(reverse("review:queue")))
    assert client.get(reverse("review:asset", args=[asset.pk])).status_code == 404
    assert client.get(reverse("review:sample", args=[asset.pk])).status_code == 404
    forged = client.post(
        reverse("review:decide"), {"ids": [suggestion(asset, "ssn").pk], "decision": "reject", "reason": "x"}, follow=True
    )
    assert "not found" in forged.content.decode() and "vault" not in forged.content.decode()


def test_next_never_leaves_the_site(client, make_user, make_asset):
    asset = make_asset()
    client_as(client, make_user, Role.STEWARD)
    response = client.post(
        reverse("review:decide"),
        {"ids": [suggestion(asset, "ssn").pk], "decision": "confirm", "reason": "ok", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("review:queue")


# --- samples -----------------------------------------------------------------------------------------


def test_the_sample_is_masked_as_the_access_decision_says_and_audited(client, make_user, make_asset):
    asset = make_asset(sensitivity="restricted")  # steward on restricted: allow_masked
    client_as(client, make_user, Role.STEWARD)
    response = client.get(reverse("review:sample", args=[asset.pk]), {"purpose": "audit"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="sample-{suggestion(asset, "email").pk}" hx-swap-oob="true"' in html
    assert 'class="token"' in html and "masked ·" in html and "tok_" not in html  # tokens abridged, not values
    assert not any(v in html for v in RAW) and "123-45-6789" not in html
    assert "Classified columns masked as keyed tokens" in html
    read = AuditEvent.objects.filter(action="policies.asset.sample_read").latest("id")
    assert read.details["effect"] == "allow_masked" and "email" in read.details["masked_columns"]


def test_values_left_in_clear_are_shown_by_shape_in_the_queue_and_denied_is_not_shown(client, make_user, make_asset):
    asset = make_asset()  # internal: a steward's decision is allow
    client_as(client, make_user, Role.STEWARD)
    page = client.get(reverse("review:asset", args=[asset.pk]), {"purpose": "audit"})
    html = page.content.decode()
    assert "aaa@aaaaaaa.aaa" in html and "999-99-9999" in html and "(999) 999-9999" in html
    assert not any(v in html for v in RAW) and "shown by their shape only" in html
    assert AuditEvent.objects.filter(action="policies.asset.sample_read", details__effect="allow").exists()
    confidential = make_asset("ledger_rows", sensitivity="confidential")
    client.logout()
    client_as(client, make_user, Role.VIEWER)
    denied = client.get(reverse("review:sample", args=[confidential.pk]), {"purpose": "analytics"}, HTTP_HX_REQUEST="true")
    html = denied.content.decode()
    assert "access denied for this purpose" in html and not any(v in html for v in RAW)


def test_the_asset_sample_panel_reads_on_demand_as_a_table(client, make_user, make_asset, rf):
    asset = make_asset()  # internal, labels only suggested: a viewer's decision is allow_masked
    viewer = client_as(client, make_user, Role.VIEWER)
    request = rf.get("/")
    request.user = viewer
    before = AuditEvent.objects.filter(action__startswith="policies.").count()
    panels = {p["key"]: p for p in pages.panels_for("asset", request, asset)}
    assert {"policies", "sample"} <= set(panels)
    assert AuditEvent.objects.filter(action__startswith="policies.").count() == before  # showing the tab reads no data
    table = client.get(reverse("review:sample", args=[asset.pk]), {"purpose": "audit", "as": "table"}, HTTP_HX_REQUEST="true")
    html = table.content.decode()
    assert "<table" in html and "tok_" in html and "masked</span>" in html and not any(v in html for v in RAW)
    assert "<code>gold</code>" in html  # an unclassified column comes back as stored


def test_the_policies_panel_lists_open_findings_of_the_asset(make_user, make_asset, rf):
    from compliance.policies.services import policy_evaluate

    asset = make_asset(sensitivity="public")
    catalog_services.classification_confirm(classification=suggestion(asset, "email"), actor="test", reason="t")
    policy_evaluate(asset=asset, actor="test")
    request = rf.get("/")
    request.user = make_user(Role.VIEWER)
    context = {p["key"]: p for p in pages.panels_for("asset", request, asset)}["policies"]["context"]
    assert context["findings"] and all(f.asset_id == asset.pk and f.status == "open" for f in context["findings"])


# --- dashboard and ledger -------------------------------------------------------------------------------


def test_dashboard_sections_follow_the_role_matrix(client, make_user, make_asset):
    make_asset()
    client_as(client, make_user, Role.STEWARD)
    steward_keys = [p["key"] for p in client.get(reverse("dashboard")).context["panels"]]
    assert {"pii_coverage", "scan_coverage", "review", "findings", "retention"} <= set(steward_keys)
    assert "ledger" not in steward_keys and "exports" not in steward_keys
    client.logout()
    client_as(client, make_user, Role.AUDITOR)
    response = client.get(reverse("dashboard"))
    keys = [p["key"] for p in response.context["panels"]]
    assert {"ledger", "exports"} <= set(keys)
    html = response.content.decode()
    assert "Verify the ledger" in html and "60.0%" in html  # 3 of 5 columns labelled


def test_the_verify_button_runs_the_ledger_verification_for_auditors_only(client, make_user, make_asset, tmp_path, settings):
    from audit import keys
    from audit.services import checkpoint_create

    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "ledger.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "ledger.key.trusted")
    keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
    make_asset()
    checkpoint_create(actor="test")
    client_as(client, make_user, Role.AUDITOR)
    response = client.post(reverse("audit:verify"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "No problem found" in html and "1 stored checkpoint" in html
    assert "every entry&#x27;s body hashes" in html and "a checkpoint kept outside this database" in html
    event = AuditEvent.objects.filter(action="audit.ledger.verify").latest("id")
    assert event.details["ok"] is True and event.details["checkpoints"] == 1
    client.logout()
    client_as(client, make_user, Role.STEWARD)
    refused = client.post(reverse("audit:verify"))
    assert refused.status_code == 403 and "steward may not audit the ledger" in refused.content.decode()
    assert "Verify the ledger" not in client.get(reverse("dashboard")).content.decode()


# --- query counts ----------------------------------------------------------------------------------------


def test_queue_queries_do_not_grow_with_assets_or_suggestions(client, make_user, make_asset, django_assert_max_num_queries):
    client_as(client, make_user, Role.STEWARD)
    make_asset("a0")
    with django_assert_max_num_queries(8):
        client.get(reverse("review:queue"))
    for i in range(1, 12):
        make_asset(f"a{i}")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("review:queue"))
    assert len(response.context["groups"]) == 10 and response.context["page"].paginator.num_pages == 2


def test_dashboard_and_asset_review_queries_are_bounded(client, make_user, make_asset, django_assert_max_num_queries):
    for i in range(6):
        make_asset(f"d{i}")
    client_as(client, make_user, Role.AUDITOR)
    with django_assert_max_num_queries(30):
        client.get(reverse("dashboard"))
    client.logout()
    client_as(client, make_user, Role.STEWARD)
    asset = make_asset("one")
    with django_assert_max_num_queries(40):
        client.get(reverse("review:asset", args=[asset.pk]))
