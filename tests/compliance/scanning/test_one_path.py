"""One service per operation: a scan asked for through the API, the command (``--user``) and a Celery
task (eager) runs ``services.scan_start`` + ``scan_execute`` and gives the same suggested
classifications and the same ledger events; a cancel through the API and the admin is the same
``scan_cancel``; the permission checks live in the services, so every entry point refuses alike.

Real parts: the database, the ledger, the Presidio engine, eager Celery. Each entry point scans its
own copy of one file (a first scan of an asset also registers its columns, so three scans of one
asset would not be comparable event for event); the copies are byte-identical.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import Classification
from compliance.scanning import services, tasks
from compliance.scanning.models import ScanRun
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def table(tmp_path, people):
    path = tmp_path / "people.csv"
    people[["full_name", "email", "phone", "ssn", "order_number", "price", "contact"]].head(150).to_csv(path, index=False)
    return path


def _asset_on_copy(table, name):
    copy = table.with_name(f"{name}.csv")
    shutil.copyfile(table, copy)
    return AssetFactory(location=str(copy), kind="file", qualified_name=f"files.{name}")


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events_since(first_id: int) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(id__gt=first_id).order_by("id").values_list("action", "target_type", "actor_name"))


def _suggestions(asset) -> set[tuple[str, str, str, str]]:
    return set(
        Classification.objects.filter(column__asset=asset).values_list("column__name", "entity_type", "sensitivity", "state")
    )


def _via_api(client, asset, capture):
    with capture(execute=True):
        response = client.post("/api/v1/scans", {"asset": asset.pk, "sample_size": 300}, format="json")
    assert response.status_code == 202, response.data
    return ScanRun.objects.get(pk=response.data["id"])


def _via_command(user, asset, capture):
    out = StringIO()
    with capture(execute=True):  # the command's transactions commit; what runs after commit runs here too
        call_command(
            "scan", "--asset", str(asset.pk), "--user", user.username, "--sample", "300", "--json", stdout=out, stderr=StringIO()
        )
    json.loads(out.getvalue())
    return ScanRun.objects.filter(asset=asset).get()


def _via_task(user, asset, capture):
    run = services.scan_start(actor=user, asset=asset, sample_size=300, dispatch=False)
    with capture(execute=True):
        tasks.scan_run.delay(run.pk)
    return ScanRun.objects.get(pk=run.pk)


def test_api_command_and_task_give_the_same_suggestions_and_the_same_ledger_events(
    api_as, users, table, engine, eager_celery, django_capture_on_commit_callbacks
):
    steward = users["steward"]
    results = {}
    for entry in ("api", "command", "task"):
        asset = _asset_on_copy(table, entry)
        before = _last_event_id()
        if entry == "api":
            run = _via_api(api_as("steward"), asset, django_capture_on_commit_callbacks)
        elif entry == "command":
            run = _via_command(steward, asset, django_capture_on_commit_callbacks)
        else:
            run = _via_task(steward, asset, django_capture_on_commit_callbacks)
        assert run.status == "succeeded", (entry, run.error)
        assert run.started_by == steward
        findings = [(c["name"], [e["type"] for e in c["entities"]]) for c in run.findings]
        results[entry] = (findings, _suggestions(asset), _events_since(before))

    api_findings, api_suggestions, api_events = results["api"]
    # the test means something only if the scan found several types, sensitive ones included
    found_types = {t for _, types in api_findings for t in types}
    assert {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"} <= found_types, api_findings
    assert ("ssn", "US_SSN", "restricted", "suggested") in api_suggestions
    for entry in ("command", "task"):
        findings, suggestions, events = results[entry]
        assert findings == api_findings, entry
        assert suggestions == api_suggestions, entry
        assert Counter(events) == Counter(api_events), entry
        assert [e[0] for e in events] == [e[0] for e in api_events], entry  # same order as well
    actions = [e[0] for e in api_events if e[0].startswith("scanning.")]
    assert actions[0] == "scanning.scan.start" and actions[-1] == "scanning.scan.finish"
    suggested = [e for e in api_events if e[0] == "catalog.classification.suggest"]
    assert len(suggested) == len(api_suggestions)  # one audited suggestion per classification written
    assert {"scanning.scan.run", "scanning.scan.chunk_start", "scanning.scan.chunk"} <= set(actions)
    assert {e[2] for e in api_events if e[0].startswith("scanning.")} == {steward.username}


def test_cancel_through_the_api_and_the_admin_is_the_same_service_and_event(client, api_as, users, table):
    steward = users["steward"]
    runs = [services.scan_start(actor=steward, asset=_asset_on_copy(table, name), dispatch=False) for name in ("a", "b")]
    before = _last_event_id()
    response = api_as("steward").post(f"/api/v1/scans/{runs[0].pk}/cancel", {"reason": "r"}, format="json")
    assert response.status_code == 200
    api_events = _events_since(before)
    client.force_login(steward)
    before = _last_event_id()
    client.post(
        reverse("admin:scanning_scanrun_changelist"),
        {"action": "cancel_scans", "_selected_action": [runs[1].pk], "apply": "1", "reason": "r"},  # after the confirmation step
    )
    admin_events = _events_since(before)
    assert api_events == admin_events == [("scanning.scan.cancel", "scanning.scanrun", steward.username)]
    assert {r.status for r in ScanRun.objects.all()} == {"cancelled"}


def test_every_entry_point_refuses_a_role_without_add(api_as, users, table):
    asset = _asset_on_copy(table, "x")
    assert api_as("viewer").post("/api/v1/scans", {"asset": asset.pk}, format="json").status_code == 403
    assert api_as("auditor").post("/api/v1/scans", {"asset": asset.pk}, format="json").status_code == 403
    with pytest.raises(CommandError, match="^refused: viewer may not add scans$"):
        call_command("scan", "--asset", str(asset.pk), "--user", users["viewer"].username, stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="^refused: auditor may not add scans$"):
        call_command("scan", str(table), "--user", users["auditor"].username, stdout=StringIO(), stderr=StringIO())
    with pytest.raises(PermissionDenied, match="viewer may not add scans"):
        services.scan_start(actor=users["viewer"], asset=asset, dispatch=False)
    assert not ScanRun.objects.exists()


def test_a_restricted_asset_cannot_be_scanned_by_a_role_that_may_not_see_it(api_as, users, table):
    asset = _asset_on_copy(table, "secret")
    asset.sensitivity = "restricted"
    asset.save(update_fields=["sensitivity"])
    response = api_as("service").post("/api/v1/scans", {"asset": asset.pk}, format="json")
    assert response.status_code == 400 and "asset" in response.data["error"]["fields"]
    with pytest.raises(CommandError, match=f"^no asset with id {asset.pk}$"):  # same words as a missing asset
        call_command("scan", "--asset", str(asset.pk), "--user", users["service"].username, stdout=StringIO(), stderr=StringIO())
    with pytest.raises(PermissionDenied, match="you may not scan this asset"):
        services.scan_start(actor=users["service"], asset=asset, dispatch=False)
    assert not ScanRun.objects.exists()


def test_cancel_is_refused_to_a_role_without_change_and_for_a_run_it_may_not_see(users, table):
    run = services.scan_start(actor=users["steward"], asset=_asset_on_copy(table, "c"), dispatch=False)
    with pytest.raises(PermissionDenied, match="auditor may not change scans"):
        services.scan_cancel(run=run, actor=users["auditor"])
    run.asset.sensitivity = "restricted"
    run.asset.save(update_fields=["sensitivity"])
    with pytest.raises(PermissionDenied, match="no such scan"):
        services.scan_cancel(run=run, actor=users["service"])
    run.refresh_from_db()
    assert run.status == "queued"


def test_a_worker_rechecks_the_starter_and_fails_the_run_when_the_role_was_withdrawn(users, table, eager_celery):
    steward = users["steward"]
    run = services.scan_start(actor=steward, asset=_asset_on_copy(table, "w"), dispatch=False)
    steward.role = "viewer"
    steward.save(update_fields=["role"])
    tasks.scan_run.delay(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "refused: viewer may not add scans"
    assert not run.chunks.exists()
    assert AuditEvent.objects.filter(action="scanning.scan.fail", target_id=str(run.pk)).exists()
