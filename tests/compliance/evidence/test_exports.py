"""Starting, following and downloading exports: the API for auditors, the command, the admin page
for stewards, and the ledger events every export leaves."""

from __future__ import annotations

import io
import json
import time
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.choices import Role
from audit.models import AuditEvent
from compliance.evidence import selectors, services, verify_bundle
from compliance.evidence.models import EvidenceExport

pytestmark = pytest.mark.django_db
URL = "/api/v1/evidence/exports"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, {401, 403}),
        (Role.VIEWER, {403}),
        (Role.SERVICE, {403}),
        (Role.STEWARD, {403}),
        (Role.AUDITOR, {202}),
        (Role.ADMIN, {202}),
    ],
)
def test_only_auditors_and_admins_start_exports_through_the_api(
    api_as, ledger_key, role, expected, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(role).post(URL, {}, format="json")
    assert response.status_code in expected
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"status", "code", "message"}
        assert not EvidenceExport.objects.exists()


def test_an_auditor_starts_an_export_follows_it_and_downloads_a_bundle_that_verifies(
    api_as, users, ledger_key, django_capture_on_commit_callbacks, eager_celery
):
    client = api_as(Role.AUDITOR)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(URL, {"regulation": "gdpr"}, format="json")
    assert started.status_code == 202
    export_id = started.json()["id"]
    status = client.get(f"{URL}/{export_id}").json()
    assert status["status"] == "succeeded" and status["progress"] == 1.0 and status["download_url"].endswith("/download")
    assert status["regulation"] == "gdpr" and status["requested_by_name"] == users[Role.AUDITOR].username

    download = client.get(f"{URL}/{export_id}/download")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    data = body(download)
    assert download["X-Content-SHA256"] == status["sha256"]
    path = ledger_key and EvidenceExport.objects.get(pk=export_id).file_path
    assert verify_bundle.verify_bundle(path, status["verifier_key"])[0] == []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["requested_by"]["name"] == users[Role.AUDITOR].username and manifest["parameters"]["regulation"] == "gdpr"

    actions = list(
        AuditEvent.objects.filter(target_type="evidence.evidenceexport", target_id=str(export_id)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["evidence.export.request", "evidence.export.complete", "evidence.export.download"]


def test_a_download_before_the_bundle_is_ready_is_a_409_in_the_error_envelope(api_as, ledger_key):
    client = api_as(Role.AUDITOR)
    started = client.post(URL, {}, format="json")  # the build task waits for a commit that never comes here
    response = client.get(f"{URL}/{started.json()['id']}/download")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"


def test_every_exporter_sees_every_export_whoever_made_it_and_others_see_none(api_as, users, ledger_key):
    """Defect 5: bundles made from the CLI (a system actor) or by an admin are visible to auditors."""
    mine = services.export_request(actor=users[Role.AUDITOR], run_async=False)
    theirs = services.export_request(actor=users[Role.ADMIN], run_async=False)
    from_cli = services.export_request(actor="evidence_export command", run_async=False)
    every = {mine.pk, theirs.pk, from_cli.pk}
    for role in (Role.AUDITOR, Role.ADMIN):
        client = api_as(role)
        assert {e["id"] for e in client.get(URL).json()["results"]} == every
        assert client.get(f"{URL}/{from_cli.pk}").status_code == 200
    for role in (Role.STEWARD, Role.VIEWER, Role.SERVICE):
        assert api_as(role).get(URL).status_code == 403
        assert not selectors.export_list(user=users[role]).exists()


def test_a_bad_request_is_refused_with_the_field_named(api_as, ledger_key):
    client = api_as(Role.AUDITOR)
    assert client.post(URL, {"regulation": "nope"}, format="json").json()["error"]["fields"].keys() == {"regulation"}
    response = client.post(URL, {"period_from": "2026-02-01T00:00:00Z", "period_to": "2026-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "period_to" in response.json()["error"]["fields"]
    assert client.post(URL, {"period_to": "2999-01-01T00:00:00Z"}, format="json").status_code == 400
    assert client.post(URL, {"asset_ids": [987654]}, format="json").json()["error"]["fields"].keys() == {"asset_ids"}


def test_a_failed_build_is_recorded_with_its_reason(users, ledger_key, settings, tmp_path):
    export = services.export_request(actor=users[Role.AUDITOR], run_async=False)
    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "missing.key")
    done = services.export_build(export_id=export.pk)
    assert done.status == "failed" and done.error.startswith("LedgerKeyMissing")
    assert AuditEvent.objects.filter(action="evidence.export.fail", target_id=str(export.pk)).exists()


def test_the_command_writes_a_verifiable_bundle_for_a_period(ledger_key, tmp_path, users):
    out = tmp_path / "evidence.zip"
    stdout = StringIO()
    call_command("evidence_export", "--out", str(out), "--from", "2000-01-01", "--regulation", "gdpr", stdout=stdout)
    assert out.exists() and f"wrote {out}" in stdout.getvalue()
    export = EvidenceExport.objects.get()
    assert export.requested_by_name == "evidence_export command" and export.period_from.year == 2000
    problems, summary = verify_bundle.verify_bundle(out, export.verifier_key)
    assert problems == [] and summary.startswith("OK evidence.zip")


def test_the_command_refuses_a_malformed_date(ledger_key, tmp_path):
    with pytest.raises(CommandError, match="not an ISO 8601 date"):
        call_command("evidence_export", "--out", str(tmp_path / "x.zip"), "--to", "last tuesday")


def test_an_auditor_starts_an_export_from_the_admin_and_downloads_it(
    users, ledger_key, django_capture_on_commit_callbacks, eager_celery
):
    auditor = users[Role.AUDITOR]
    browser = Client()
    browser.force_login(auditor)
    assert browser.get("/admin/evidence/evidenceexport/add/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/admin/evidence/evidenceexport/add/", {"regulation": "", "asset_ids": ""})
    assert response.status_code == 302, response.content[:2000]
    export = EvidenceExport.objects.get()
    assert export.requested_by == auditor and export.status == "succeeded"
    page = browser.get(f"/admin/evidence/evidenceexport/{export.pk}/change/")
    assert b"download zip" in page.content
    download = browser.get(f"/admin/evidence/evidenceexport/{export.pk}/download/")
    assert download.status_code == 200 and body(download)[:2] == b"PK"
    assert AuditEvent.objects.filter(action="evidence.export.download", actor_id=str(auditor.pk)).exists()


@pytest.mark.parametrize("role", [Role.STEWARD, Role.VIEWER, Role.SERVICE])
def test_the_admin_refuses_non_exporters_the_add_form_the_list_and_the_download(users, ledger_key, role):
    """Defect 5: the admin "add" let a steward export; now the same rule as the API."""
    made = services.export_build(export_id=services.export_request(actor=users[Role.AUDITOR], run_async=False).pk)
    browser = Client()
    browser.force_login(users[role])
    assert browser.post("/admin/evidence/evidenceexport/add/", {"regulation": "", "asset_ids": ""}).status_code in (302, 403)
    assert browser.get("/admin/evidence/evidenceexport/").status_code in (302, 403)
    assert browser.get(f"/admin/evidence/evidenceexport/{made.pk}/download/").status_code in (302, 403)
    assert EvidenceExport.objects.count() == 1
    assert not AuditEvent.objects.filter(action="evidence.export.download").exists()


@pytest.mark.parametrize("role", [Role.STEWARD, Role.VIEWER, Role.SERVICE])
def test_the_service_itself_refuses_non_exporters_whoever_calls_it(users, ledger_key, role):
    with pytest.raises(PermissionDenied, match=f"^{role} may not export evidence$"):
        services.export_request(actor=users[role], run_async=False)
    made = services.export_build(export_id=services.export_request(actor=users[Role.ADMIN], run_async=False).pk)
    with pytest.raises(PermissionDenied):
        services.export_download(export=made, actor=users[role])
    assert EvidenceExport.objects.count() == 1


@pytest.mark.parametrize("role", [Role.STEWARD, Role.VIEWER])
def test_the_command_with_user_refuses_a_non_exporter_in_one_line_with_exit_status_1(users, ledger_key, tmp_path, role, capsys):
    """Defects 5 and 8: ``evidence_export --user viewer`` printed a traceback (or let a steward
    export); now one line on stderr and exit status 1."""
    from django.core.management import execute_from_command_line

    with pytest.raises(CommandError, match=f"^refused: {role} may not export evidence$"):
        call_command("evidence_export", "--out", str(tmp_path / "x.zip"), "--user", users[role].username)
    assert not EvidenceExport.objects.exists() and not (tmp_path / "x.zip").exists()
    with pytest.raises(CommandError, match=r"^no such user \(--user\)$"):
        call_command("evidence_export", "--out", str(tmp_path / "x.zip"), "--user", "nobody-here")
    # As the shell runs it (manage.py's argv path): one line on stderr, exit status 1.
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(
            ["manage.py", "evidence_export", "--out", str(tmp_path / "y.zip"), "--user", users[role].username]
        )
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines() == [f"CommandError: refused: {role} may not export evidence"]


def test_the_command_with_user_exports_as_an_auditor_and_the_api_shows_it_to_another_auditor(
    users, ledger_key, tmp_path, api_as, make_user
):
    out = tmp_path / "e.zip"
    call_command("evidence_export", "--out", str(out), "--user", users[Role.AUDITOR].username, stdout=StringIO())
    export = EvidenceExport.objects.get()
    assert export.requested_by == users[Role.AUDITOR] and export.status == "succeeded"
    other = make_user(Role.AUDITOR)
    client = api_as(None)
    client.force_authenticate(other)
    assert [e["id"] for e in client.get(URL).json()["results"]] == [export.pk]


def test_the_build_task_refuses_an_export_whose_requester_lost_the_export_role(users, ledger_key, eager_celery):
    """The Celery task applies the same rule: the build re-checks the requester."""
    from compliance.evidence.tasks import export_build

    auditor = users[Role.AUDITOR]
    export = services.export_request(actor=auditor, run_async=False)
    auditor.role = Role.STEWARD
    auditor.save()
    assert export_build.delay(export.pk).get() == "failed"
    export.refresh_from_db()
    assert export.error == "PermissionDenied: steward may no longer export evidence" and not export.file_path
    assert AuditEvent.objects.filter(action="evidence.export.fail", target_id=str(export.pk)).exists()


def test_a_viewer_cannot_reach_the_export_admin(users, ledger_key):
    browser = Client()
    browser.force_login(users[Role.VIEWER])
    assert browser.get("/admin/evidence/evidenceexport/add/").status_code in (302, 403)


@pytest.fixture
def worker_key(settings):
    """The ledger key the worker process reads (same settings as this process before any override):
    created for the test if absent, removed afterwards."""
    from audit import keys

    path = Path(settings.CUSTOS_LEDGER_KEY_FILE)
    created = not path.exists()
    if created:
        keys.generate_key(path=path)
    yield keys.load_signer()
    if created:
        path.unlink(missing_ok=True)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_an_export_started_through_the_api(celery_worker_process, api_as, worker_key):
    client = api_as(Role.AUDITOR)
    started = client.post(URL, {}, format="json")
    assert started.status_code == 202
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"{URL}/{started.json()['id']}").json()
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "succeeded", status
    assert status["verifier_key"] == worker_key.verifier.vkey
    export = EvidenceExport.objects.get(pk=status["id"])
    assert verify_bundle.verify_bundle(export.file_path, status["verifier_key"])[0] == []
    Path(export.file_path).unlink(missing_ok=True)


def test_the_verifier_reads_any_valid_json_spelling_of_the_event_lines(users, ledger_key, tmp_path):
    """verify.py has a fast path for the exact line shape Custos writes; other JSON spellings of the
    same entries (another key order, no spaces) must verify the same way."""
    import hashlib

    from audit import verify_core
    from tests.compliance.evidence.conftest import rewrite

    export = services.export_build(export_id=services.export_request(actor=users[Role.AUDITOR], run_async=False).pk)
    with zipfile.ZipFile(export.file_path) as archive:
        lines = archive.read("ledger/events.jsonl").splitlines()
        manifest = json.loads(archive.read("manifest.json"))
    respelled = b"".join(
        json.dumps(dict(reversed(json.loads(line).items())), separators=(",", ":")).encode() + b"\n" for line in lines
    )
    for entry in manifest["files"]:
        if entry["path"] == "ledger/events.jsonl":
            entry["sha256"], entry["size"] = hashlib.sha256(respelled).hexdigest(), len(respelled)
    manifest_bytes = json.dumps(manifest).encode()
    signature = {"verifier_key": ledger_key.verifier.vkey, "signature": verify_core.b64(ledger_key.sign(manifest_bytes))}
    bundle = rewrite(
        Path(export.file_path),
        tmp_path / "respelled.zip",
        change={
            "ledger/events.jsonl": lambda _: respelled,
            "manifest.json": lambda _: manifest_bytes,
            "manifest.sig": lambda _: json.dumps(signature).encode(),
        },
    )
    problems, summary = verify_bundle.verify_bundle(bundle, ledger_key.verifier.vkey)
    assert problems == [] and f"({len(lines)} events)" in summary


def test_a_build_left_running_by_a_killed_worker_is_redone_but_a_live_one_is_not(users, ledger_key, settings):
    from datetime import timedelta

    from django.utils import timezone

    export = services.export_request(actor=users[Role.AUDITOR], run_async=False)
    EvidenceExport.objects.filter(pk=export.pk).update(status="running", started_at=timezone.now())
    assert services.export_build(export_id=export.pk).status == "running"  # a redelivery while the first build runs
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    EvidenceExport.objects.filter(pk=export.pk).update(started_at=long_ago)
    assert services.export_build(export_id=export.pk).status == "succeeded"
