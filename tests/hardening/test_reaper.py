"""The run reaper (issue 17, item 6): a scan whose chunk no live worker holds is resumed (its
pending chunks sent again, idempotently) and finishes; a run that cannot be resumed fails with an
audit event instead of showing ``running`` for an hour; a run a live worker holds is left alone."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from compliance.evidence.models import EvidenceExport
from compliance.scanning import services
from compliance.scanning.models import ScanChunk, ScanRun
from core import reaper

pytestmark = pytest.mark.django_db
LONG_AGO = timedelta(minutes=10)


@pytest.fixture
def lost_scan(settings, tmp_path, eager_celery):
    """A scan split into chunks whose chunk tasks were never delivered (their worker died)."""
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    path = tmp_path / "people.csv"
    pd.DataFrame({"id": range(40), "email": [f"p{i}@example.org" for i in range(40)]}).to_csv(path, index=False)
    run = services.scan_start(actor="test", location=str(path), sample_size=20, chunk_rows=15, dispatch=False)
    services.scan_execute(run_id=run.pk, fan_out=True)  # the chunk tasks wait for a commit that never comes
    old = timezone.now() - LONG_AGO
    ScanRun.objects.filter(pk=run.pk).update(started_at=old)
    ScanChunk.objects.filter(run_id=run.pk).update(updated_at=old)
    return ScanRun.objects.get(pk=run.pk)


def test_a_scan_no_live_worker_holds_is_resumed_and_finishes(lost_scan, django_capture_on_commit_callbacks):
    assert lost_scan.status == "running" and lost_scan.chunks.filter(status="pending").count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        reaped = reaper.reap_runs(held=reaper.Held())
    assert reaped == [reaper.Reaped("scanning.ScanRun", lost_scan.pk, "redispatched", (0, 1, 2))]
    lost_scan.refresh_from_db()
    assert lost_scan.status == "succeeded" and lost_scan.rows_scanned == 40
    event = AuditEvent.objects.get(action="core.run.reap")
    assert event.details == {"model": "scanning.ScanRun", "outcome": "redispatched", "chunks": [0, 1, 2]}


def test_a_scan_a_live_worker_holds_is_left_alone(lost_scan):
    held = reaper.Held(by_task={"scanning.scan_chunk": {lost_scan.pk}})
    assert reaper.reap_runs(held=held) == []
    assert not AuditEvent.objects.filter(action="core.run.reap").exists()


def test_a_recent_scan_is_not_stale_yet(lost_scan):
    ScanChunk.objects.filter(run_id=lost_scan.pk).update(updated_at=timezone.now())
    assert reaper.reap_runs(held=reaper.Held()) == []


def test_a_chunk_lost_too_often_fails_the_run(lost_scan, settings):
    ScanChunk.objects.filter(run_id=lost_scan.pk, index=1).update(attempts=3, updated_at=timezone.now() - LONG_AGO)
    assert reaper.reap_runs(held=reaper.Held()) == [reaper.Reaped("scanning.ScanRun", lost_scan.pk, "failed")]
    lost_scan.refresh_from_db()
    assert lost_scan.status == "failed" and lost_scan.error == "chunk 1: worker lost 3 times"


def test_another_run_no_worker_holds_fails_with_an_audit_event_and_the_command_says_so():
    export = EvidenceExport.objects.create(requested_by_name="test", status="running", started_at=timezone.now() - LONG_AGO)
    out = StringIO()
    call_command("reap_runs", "--dry-run", stdout=out)
    assert out.getvalue().strip() == f"(dry run) evidence.EvidenceExport {export.pk}: failed"
    export.refresh_from_db()
    assert export.status == "running"
    call_command("reap_runs", stdout=out)
    export.refresh_from_db()
    assert export.status == "failed" and export.error == "worker lost: no live worker holds its task"
    assert AuditEvent.objects.filter(action="core.run.reap", target_id=str(export.pk)).count() == 1
    call_command("reap_runs", stdout=(again := StringIO()))
    assert again.getvalue().strip() == "reap_runs: nothing stale"
