"""Integration (PostgreSQL pass): a real Celery worker on Redis scans an asset's chunks and merges them."""

from __future__ import annotations

import time

import pytest

from catalog.models import Classification
from compliance.scanning import services, tasks
from compliance.scanning.choices import ScanStatus
from compliance.scanning.models import ScanChunk, ScanRun
from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.worker


def wait_for(run_id: int, timeout: float = 180) -> ScanRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ScanRun.objects.get(pk=run_id)
        if run.is_finished:
            return run
        time.sleep(0.5)
    raise AssertionError(f"scan {run_id} did not finish in {timeout} s (status {run.status}); see var/celery-worker-test.log")


def test_a_real_worker_scans_chunks_in_parallel_merges_them_and_ignores_a_redelivered_chunk(
    celery_worker_process, transactional_db, tmp_path, people
):
    path = tmp_path / "people.parquet"
    people[["full_name", "email", "ssn", "order_number"]].to_parquet(path, row_group_size=50)
    asset = AssetFactory(location=str(path), kind="file")
    steward = UserFactory(role="steward")

    run = services.scan_start(actor=steward, asset=asset, sample_size=300, chunk_rows=100)  # dispatched on commit
    run = wait_for(run.pk)

    assert run.status == ScanStatus.SUCCEEDED, run.error
    assert run.chunks_total == 3 and run.chunks_done == 3 and run.rows_scanned == 300 and run.rows_total == 300
    assert {c["name"]: [e["type"] for e in c["entities"]] for c in run.findings} == {
        "full_name": ["PERSON"],
        "email": ["EMAIL_ADDRESS"],
        "ssn": ["US_SSN"],
        "order_number": [],
    }
    assert Classification.objects.filter(column__asset=asset, source="scan").count() == 3

    # the broker redelivers a finished chunk (its worker died before acking): nothing is counted twice
    tasks.scan_chunk.delay(run.pk, 1)
    time.sleep(3)
    run.refresh_from_db()
    assert run.rows_scanned == 300 and run.chunks_done == 3
    assert ScanChunk.objects.get(run=run, index=1).attempts == 1


def test_a_chunk_whose_worker_process_is_killed_mid_scan_is_retried_and_counted_once(
    celery_worker_process, transactional_db, tmp_path
):
    import os
    import random
    import signal

    import pandas as pd

    from audit.models import AuditEvent
    from config.celery import app

    rng = random.Random(3)
    names = ["Maria Lopez", "James Carter", "Emily Chen", "Robert Miller", "Aisha Khan", "Tom Becker"]
    # long notes with names mid-sentence: every sampled cell goes through NER, so a chunk takes seconds
    notes = [
        " ".join(
            f"On visit {j} the nurse spoke with {rng.choice(names)} about the dosage and the next appointment." for j in range(6)
        )
        for _ in range(1200)
    ]
    path = tmp_path / "notes.parquet"
    pd.DataFrame({"notes": notes, "n": range(1200)}).to_parquet(path, row_group_size=200)
    asset = AssetFactory(location=str(path), kind="file")
    run = services.scan_start(actor=UserFactory(role="steward"), asset=asset, sample_size=1000, chunk_rows=400)

    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        for tasks_of_worker in (app.control.inspect(timeout=0.5).active() or {}).values():
            for task in tasks_of_worker:
                if task["name"] == "scanning.scan_chunk" and task["args"][0] == run.pk:
                    victim = task
                    break
    assert victim is not None, "no chunk of the scan was seen running"
    os.kill(victim["worker_pid"], signal.SIGKILL)  # the pool child dies mid-chunk; the message is redelivered

    run = wait_for(run.pk)
    assert run.status == ScanStatus.SUCCEEDED, run.error
    assert run.chunks_total == 3 and run.chunks_done == 3 and run.rows_scanned == 1200
    killed = ScanChunk.objects.get(run=run, index=victim["args"][1])
    assert killed.attempts == 2  # started, killed, redelivered, done
    chunk_events = AuditEvent.objects.filter(target_id=str(run.pk), action="scanning.scan.chunk").count()
    assert chunk_events == 3  # each chunk's result recorded exactly once
    # names in every note; a nurse's notes on dosage and appointments are health data (GDPR Art. 9)
    assert {e["type"] for c in run.findings if c["name"] == "notes" for e in c["entities"]} == {"PERSON", "HEALTH_DATA"}
