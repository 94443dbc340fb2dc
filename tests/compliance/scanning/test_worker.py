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
