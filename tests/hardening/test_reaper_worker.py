"""The reaper's heartbeat against a real worker (PostgreSQL pass): a chunk a live worker is
running shows in ``held_by_live_workers`` and its scan is left alone, however old its last update."""

from __future__ import annotations

import random
import time

import pandas as pd
import pytest

from compliance.scanning import services
from compliance.scanning.models import ScanRun
from core import reaper
from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.worker


def test_a_chunk_a_live_worker_runs_is_held_and_its_scan_not_reaped(celery_worker_process, transactional_db, tmp_path, settings):
    from config.celery import app

    settings.CUSTOS_DATA_ROOTS = [tmp_path]  # the worker's roots hold every test's tmp_path
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    rng = random.Random(5)
    names = ["Maria Lopez", "James Carter", "Emily Chen", "Aisha Khan"]
    notes = [
        " ".join(f"On visit {j} the nurse spoke with {rng.choice(names)} about the next appointment." for j in range(6))
        for _ in range(800)
    ]
    path = tmp_path / "notes.parquet"
    pd.DataFrame({"notes": notes, "n": range(800)}).to_parquet(path, row_group_size=200)
    asset = AssetFactory(location=str(path), kind="file")
    run = services.scan_start(actor=UserFactory(role="steward"), asset=asset, sample_size=1000, chunk_rows=400)

    before = app.conf.task_always_eager
    app.conf.task_always_eager = False  # ask the real worker (the test process is eager by default)
    try:
        held = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = reaper.held_by_live_workers(timeout=0.5)
            if run.pk in found.by_task.get("scanning.scan_chunk", set()):
                held = found
                break
        assert held is not None, "the live worker never reported the scan's chunk"
        settings.CUSTOS_REAPER_GRACE_SECONDS = 0  # stale by age: only the heartbeat keeps it
        assert [r for r in reaper.reap_runs(held=held) if r.run_id == run.pk and r.model == "scanning.ScanRun"] == []
    finally:
        app.conf.task_always_eager = before
    deadline = time.monotonic() + 180
    while not ScanRun.objects.get(pk=run.pk).is_finished and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ScanRun.objects.get(pk=run.pk).status == "succeeded"
