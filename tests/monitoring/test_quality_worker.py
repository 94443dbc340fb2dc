"""Integration (PostgreSQL pass): the monitoring tick, sent to a real Celery worker on Redis, runs a due
per-asset quality suite there; the run, its failed check's alert and their ledger entries exist, written
by the worker as the system actor."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from audit.models import AuditEvent
from monitoring import services, tasks
from monitoring.models import QualityAlert, QualityRun
from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.worker


def _frame(seed, nulls=0.0):
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 5, 500)
    income[rng.random(500) < nulls] = np.nan
    return pd.DataFrame({"income": income, "city": rng.choice(["oslo", "rome"], 500)})


def test_the_tick_runs_a_due_suite_on_a_real_worker(celery_worker_process, transactional_db, settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]  # under the pytest base directory: the worker's roots too
    _frame(1).to_parquet(tmp_path / "ref.parquet")
    _frame(2, nulls=0.3).to_parquet(tmp_path / "cur.parquet")
    reference = AssetFactory(location=str(tmp_path / "ref.parquet"), kind="file")
    asset = AssetFactory(location=str(tmp_path / "cur.parquet"), kind="file")
    steward = UserFactory(role="steward", is_staff=True)
    suite = services.quality_suite_create(
        actor=steward, asset=asset, name="daily", reference_asset=reference, schedule_minutes=60
    )

    tasks.monitors_due.delay()  # the beat entry's task, through the broker
    deadline = time.monotonic() + 120
    run = None
    while time.monotonic() < deadline:
        run = QualityRun.objects.filter(suite=suite, finished_at__isnull=False).first()
        if run is not None:
            break
        time.sleep(0.5)
    assert run is not None, "the worker did not run the suite within 120 s"
    assert run.status == "succeeded" and run.trigger == "schedule" and run.rows == 500, run.error
    (alert,) = QualityAlert.objects.filter(suite=suite)
    assert alert.subject == "null_share:income" and alert.state == "open"
    events = AuditEvent.objects.filter(target_type="monitoring.qualityrun", target_id=str(run.pk)) | AuditEvent.objects.filter(
        target_type="monitoring.qualityalert", target_id=str(alert.pk)
    )
    actions = {e.action: e.actor_id for e in events}
    assert actions == {
        "monitoring.quality_run_start": tasks.SYSTEM_ACTOR,
        "monitoring.quality_run_finish": tasks.SYSTEM_ACTOR,
        "monitoring.quality_alert_open": tasks.SYSTEM_ACTOR,
    }
