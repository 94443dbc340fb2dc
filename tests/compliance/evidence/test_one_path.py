"""Issue 12: one service per operation for evidence export -- the API (``POST
/api/v1/evidence/exports``), the admin add form, the command (``evidence_export --user``) and the
Celery build task reach ``services.export_request`` / ``export_build``, so the same request by the
same auditor gives the same bundle contents and the same ledger events, and the same roles are
refused everywhere (defect 5: one rule, exporters = the ``export`` action, auditors and admins).
"""

from __future__ import annotations

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.choices import Role
from audit.models import AuditEvent
from compliance.evidence import verify_bundle
from compliance.evidence.models import EvidenceExport
from tests.factories import AssetFactory, ColumnFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/evidence/exports"
PERIOD_TO = "2026-01-31T12:00:00+00:00"  # a closed period and as-of moment: the same whenever it runs
# What legitimately differs between two exports of the same request: who/when/which id, and the
# ledger range, which grows by each earlier export's own events.
PER_EXPORT = {"manifest.json", "manifest.sig", "report.html", "README.txt"}


def actions_since(first_id: int) -> list[tuple[str, str]]:
    rows = AuditEvent.objects.filter(id__gt=first_id).order_by("id").values_list("action", "actor_id")
    return list(rows)


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def evidence_files(path: Path) -> dict[str, bytes]:
    """The evidence sections of a bundle (``evidence/…``), which depend only on the request."""
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist() if name.startswith("evidence/")}


def bundle_of(export: EvidenceExport) -> Path:
    export.refresh_from_db()
    assert export.status == "succeeded", export.error
    return Path(export.file_path)


@pytest.fixture
def catalog_state(users):
    asset = AssetFactory(qualified_name="clinic.patients", sensitivity="confidential")
    ColumnFactory(asset=asset, name="ssn", position=0)
    return asset


def test_api_admin_command_and_task_give_the_same_evidence_and_the_same_events(
    users, ledger_key, catalog_state, tmp_path, django_capture_on_commit_callbacks, eager_celery
):
    auditor = users[Role.AUDITOR]
    runs = {}

    before = last_event_id()
    api = Client()
    api.force_login(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"regulation": "hipaa", "period_to": PERIOD_TO}, content_type="application/json")
    assert response.status_code == 202, response.content
    runs["api"] = (EvidenceExport.objects.get(pk=response.json()["id"]), actions_since(before))

    before = last_event_id()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/admin/evidence/evidenceexport/add/",
            {"regulation": "hipaa", "period_to_0": "2026-01-31", "period_to_1": "12:00:00", "asset_ids": ""},
        )
    assert response.status_code == 302, response.content[:1500]
    runs["admin"] = (EvidenceExport.objects.order_by("-pk").first(), actions_since(before))

    before = last_event_id()
    out = tmp_path / "cli.zip"
    call_command(
        "evidence_export", "--out", str(out), "--user", auditor.username, "--regulation", "hipaa", "--to", PERIOD_TO,
        stdout=StringIO(),
    )  # fmt: skip
    runs["command"] = (EvidenceExport.objects.order_by("-pk").first(), actions_since(before))

    exports = {name: export for name, (export, _) in runs.items()}
    assert len({e.pk for e in exports.values()}) == 3
    for name, export in exports.items():
        assert export.requested_by == auditor, name
        assert export.regulation == "hipaa" and export.period_to.isoformat() == PERIOD_TO, name
    contents = {name: evidence_files(bundle_of(export)) for name, export in exports.items()}
    assert contents["api"] and contents["api"] == contents["admin"] == contents["command"]

    events = {name: [action for action, _ in acts if action.startswith("evidence.")] for name, (_, acts) in runs.items()}
    assert events["api"] == events["admin"] == events["command"], events
    assert events["api"] == ["evidence.export.request", "evidence.export.complete"], events
    actors = {who for _, acts in runs.values() for action, who in acts if action.startswith("evidence.export.request")}
    assert actors <= {str(auditor.pk)}, actors

    for name, export in exports.items():
        with zipfile.ZipFile(bundle_of(export)) as bundle:
            manifest = json.loads(bundle.read("manifest.json"))
        assert manifest["requested_by"]["id"] == str(auditor.pk), name
        problems, _ = verify_bundle.verify_bundle(bundle_of(export), export.verifier_key)
        assert problems == [], (name, problems)


@pytest.mark.parametrize("role", [Role.STEWARD, Role.SERVICE, Role.VIEWER])
def test_every_entry_point_refuses_the_same_roles_and_records_nothing(users, ledger_key, tmp_path, role):
    user = users[role]
    client = Client()
    client.force_login(user)
    before = last_event_id()
    assert client.post(URL, {}, content_type="application/json").status_code == 403
    assert client.post("/admin/evidence/evidenceexport/add/", {"regulation": ""}).status_code in {302, 403}
    with pytest.raises(CommandError, match="refused"):
        call_command("evidence_export", "--out", str(tmp_path / "x.zip"), "--user", user.username, stdout=StringIO())
    assert not EvidenceExport.objects.exists()
    assert not [a for a, _ in actions_since(before) if a.startswith("evidence.export")]


def test_a_bare_date_means_the_same_day_through_the_api_and_the_command(
    users, ledger_key, tmp_path, django_capture_on_commit_callbacks, eager_celery
):
    auditor = users[Role.AUDITOR]
    client = Client()
    client.force_login(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"period_from": "2026-01-01", "period_to": "2026-01-31"}, content_type="application/json")
    assert response.status_code == 202, response.content
    call_command(
        "evidence_export", "--out", str(tmp_path / "c.zip"), "--user", auditor.username,
        "--from", "2026-01-01", "--to", "2026-01-31", stdout=StringIO(),
    )  # fmt: skip
    api_export, cli_export = EvidenceExport.objects.order_by("pk")
    assert (api_export.period_from, api_export.period_to) == (cli_export.period_from, cli_export.period_to)
    assert api_export.period_to.isoformat() == "2026-01-31T23:59:59.999999+00:00"  # the whole 31st is in
    assert client.post(URL, {"period_to": "2026-13-45"}, content_type="application/json").status_code == 400
