"""Celery tasks of the monitoring app: thin callers of monitoring.services.

* ``monitoring.monitor_run``   run one monitor (ids in, the service does the work)
* ``monitoring.monitors_due``  periodic: enqueue every active monitor whose schedule is due and that has
  new logged predictions (CELERY_BEAT_SCHEDULE entry: see docs/monitoring.md)
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

SYSTEM_ACTOR = "system:monitoring"


@shared_task(name="monitoring.monitor_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def monitor_run(monitor_id: int, user_id: int | None = None, trigger: str = "schedule") -> int | None:
    from accounts.models import User
    from monitoring import services
    from monitoring.models import Monitor
    from monitoring.services.runs import NothingToRun

    monitor = Monitor.objects.select_related("model_version__model", "reference_asset", "reference_profile").get(pk=monitor_id)
    actor = User.objects.get(pk=user_id) if user_id else SYSTEM_ACTOR
    try:
        return services.monitor_run(actor=actor, monitor=monitor, trigger=trigger).pk
    except NothingToRun:  # nothing new since the last run (another trigger got there first)
        return None


def on_new_batch(batch, user_id: int | None) -> None:
    """After a batch commits: run the version's active monitors on the new data (near real time)."""
    from monitoring.models import Monitor

    for pk in Monitor.objects.filter(model_version=batch.model_version_id, active=True).values_list("pk", flat=True):
        monitor_run.delay(pk, user_id, "new_data")


@shared_task(name="monitoring.monitors_due", ignore_result=True)
def monitors_due() -> int:
    from monitoring.models import Monitor
    from monitoring.services import new_batches

    now = timezone.now()
    queued = 0
    for monitor in Monitor.objects.filter(active=True, schedule_minutes__gt=0):
        due = monitor.last_run_at is None or monitor.last_run_at + timedelta(minutes=monitor.schedule_minutes) <= now
        if due and new_batches(monitor):
            monitor_run.delay(monitor.pk, None, "schedule")
            queued += 1
    return queued
