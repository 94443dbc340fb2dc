"""Celery tasks of the monitoring app: thin callers of monitoring.services.

* ``monitoring.monitor_run``   run one monitor (ids in, the service does the work)
* ``monitoring.chunk_update``  fold a new batch into a monitor's open chunk and check it (near real time)
* ``monitoring.run_part``      one part of a fanned-out run (the last part merges)
* ``monitoring.quality_suite_run``  run one per-asset data-quality suite
* ``monitoring.monitors_due``  periodic: enqueue every active monitor whose schedule is due and that has
  new logged predictions, and every quality suite that is due or whose asset's file changed
  (CELERY_BEAT_SCHEDULE entry: see docs/monitoring.md)
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

SYSTEM_ACTOR = "system:monitoring"


def _monitor(monitor_id: int):
    from monitoring.models import Monitor

    return Monitor.objects.select_related("model_version__model", "reference_asset", "reference_profile").get(pk=monitor_id)


def _actor(user_id: int | None):
    from accounts.models import User

    return User.objects.get(pk=user_id) if user_id else SYSTEM_ACTOR


@shared_task(name="monitoring.monitor_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def monitor_run(
    monitor_id: int, user_id: int | None = None, trigger: str = "schedule", batch_ids: list[int] | None = None
) -> int | None:
    from monitoring import services
    from monitoring.models import LoggedBatch
    from monitoring.services.runs import NothingToRun

    monitor = _monitor(monitor_id)
    batches = list(LoggedBatch.objects.filter(pk__in=batch_ids).order_by("pk")) if batch_ids else None
    try:
        return services.monitor_run(actor=_actor(user_id), monitor=monitor, batches=batches, trigger=trigger).pk
    except NothingToRun:  # nothing new since the last run (another trigger got there first)
        return None


@shared_task(name="monitoring.chunk_update", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def chunk_update(monitor_id: int, batch_id: int, user_id: int | None = None) -> int | None:
    from monitoring import services
    from monitoring.models import LoggedBatch

    run = services.chunk_update(actor=_actor(user_id), monitor=_monitor(monitor_id), batch=LoggedBatch.objects.get(pk=batch_id))
    return run.pk if run is not None else None


@shared_task(name="monitoring.run_part", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_part(run_id: int, index: int) -> None:
    from monitoring.services import fanout

    fanout.run_part_execute(run_id=run_id, index=index)


def on_new_batch(batch, user_id: int | None) -> None:
    """After a batch commits: fold it into each active monitor's open chunk and check the chunk (near real
    time); a monitor with ``chunk_rows`` 0 gets a run over its new batches instead."""
    from monitoring.models import Monitor

    for pk, chunk_rows in Monitor.objects.filter(model_version=batch.model_version_id, active=True).values_list(
        "pk", "chunk_rows"
    ):
        if chunk_rows:
            chunk_update.delay(pk, batch.pk, user_id)
        else:
            monitor_run.delay(pk, user_id, "new_data")


@shared_task(name="monitoring.quality_suite_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def quality_suite_run(suite_id: int, user_id: int | None = None, trigger: str = "schedule") -> int:
    from monitoring import services
    from monitoring.models import QualitySuite

    suite = QualitySuite.objects.select_related("asset").get(pk=suite_id)
    return services.quality_suite_run(actor=_actor(user_id), suite=suite, trigger=trigger).pk


@shared_task(name="monitoring.monitors_due", ignore_result=True)
def monitors_due() -> int:
    from monitoring.models import Monitor
    from monitoring.services import new_batches
    from monitoring.services.quality_suites import suites_due

    now = timezone.now()
    queued = 0
    for monitor in Monitor.objects.filter(active=True, schedule_minutes__gt=0):
        due = monitor.last_run_at is None or monitor.last_run_at + timedelta(minutes=monitor.schedule_minutes) <= now
        if due and new_batches(monitor):
            monitor_run.delay(monitor.pk, None, "schedule")
            queued += 1
    for suite, trigger in suites_due(now):
        quality_suite_run.delay(suite.pk, None, trigger)
        queued += 1
    return queued
