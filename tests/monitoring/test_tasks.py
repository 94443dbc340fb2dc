"""Celery tasks (eager here; the real worker is tests/monitoring/test_worker.py): scheduled runs are
enqueued only when due and when new predictions exist; a run on nothing new is skipped quietly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from monitoring import services, tasks
from monitoring.models import Monitor, MonitorRun
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db


def test_monitors_due_runs_scheduled_monitors_with_new_data_only(users, version, reference_asset):
    due = services.monitor_create(
        actor=users["steward"], model_version=version, name="hourly", reference_asset=reference_asset, columns=["age"]
    )
    services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="on-data-only",
        reference_asset=reference_asset,
        columns=["age"],
        schedule_minutes=0,
    )
    assert tasks.monitors_due() == 0  # nothing logged yet
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(300, seed=61))
    assert tasks.monitors_due() == 1
    run = MonitorRun.objects.get()
    assert run.monitor == due and run.trigger == "schedule" and run.status == "succeeded"
    assert AuditEvent.objects.get(action="monitoring.run_start", target_id=str(run.pk)).actor_id == tasks.SYSTEM_ACTOR
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(300, seed=62))
    assert tasks.monitors_due() == 0  # ran a moment ago: not due for an hour
    Monitor.objects.filter(pk=due.pk).update(last_run_at=timezone.now() - timedelta(minutes=61))
    assert tasks.monitors_due() == 1 and MonitorRun.objects.count() == 2
    assert tasks.monitor_run(due.pk, None, "schedule") is None  # nothing new: skipped, no failed run
    assert MonitorRun.objects.count() == 2
