"""Celery application. Tasks live in each app's ``tasks.py``; settings are the ``CELERY_*`` ones.

Delivery and time limits (issue 17, item 6; docs/operations.md "Workers that die"):

* every task is acknowledged late (``CELERY_TASK_ACKS_LATE``) and rejected back to the queue when
  its worker process is lost, except the periodic ticks listed in ``ACK_EARLY``: beat sends them
  again at the next tick, and a redelivered tick would act twice;
* each task has a hard and a soft time limit that fits it (``TIME_LIMITS``; the soft one raises
  ``SoftTimeLimitExceeded`` in the task so it can fail its run cleanly first);
* Redis (and SQS) redeliver an unacknowledged message only after ``visibility_timeout``, which
  must exceed the longest hard time limit, or a task still running is handed to a second worker:
  ``CELERY_VISIBILITY_TIMEOUT`` defaults to that limit plus 5 minutes. A worker's main process
  killed mid-task therefore leaves its message for that long; the run reaper (``core.reaper``,
  beat every ``CUSTOS_REAPER_SECONDS``) resumes such a scan within about two minutes instead.
  RabbitMQ redelivers as soon as the dead worker's connection closes and ignores the option.
"""

import os

from celery import Celery

from config.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

MINUTE = 60
# (hard, soft) seconds per task; the others get CELERY_TASK_TIME_LIMIT / _SOFT_ (settings: 3600/3300)
TIME_LIMITS: dict[str, tuple[int, int]] = {
    "scanning.scan_run": (10 * MINUTE, 9 * MINUTE),  # opens the source and counts its rows
    "scanning.scan_chunk": (20 * MINUTE, 19 * MINUTE),  # one chunk (CUSTOS_SCAN_CHUNK_ROWS rows)
    "evidence.export_build": (30 * MINUTE, 29 * MINUTE),
    "monitoring.monitor_run": (30 * MINUTE, 29 * MINUTE),
    "monitoring.monitors_due": (2 * MINUTE, 100),
    "policies.anonymization_execute": (60 * MINUTE, 58 * MINUTE),
    "policies.retention_enforce": (60 * MINUTE, 58 * MINUTE),
    "audit.tasks.ledger_sequence": (5 * MINUTE, 4 * MINUTE),
    "audit.tasks.ledger_checkpoint": (5 * MINUTE, 4 * MINUTE),
    "core.reap_runs": (2 * MINUTE, 100),
}
# periodic ticks: acknowledged on receipt (the next tick comes anyway; a redelivered one acts twice)
ACK_EARLY = (
    "policies.retention_enforce",
    "monitoring.monitors_due",
    "audit.tasks.ledger_sequence",
    "audit.tasks.ledger_checkpoint",
    "core.reap_runs",
)
LONGEST = max(hard for hard, _soft in TIME_LIMITS.values())


def _delivery_defaults() -> dict:
    """Evaluated when Celery first reads its configuration (never at import: a command must be able
    to fail on missing settings with one line, before Celery loads them)."""
    longest = max(LONGEST, env_int("CELERY_TASK_TIME_LIMIT", 3600))
    visibility = env_int("CELERY_VISIBILITY_TIMEOUT", longest + 5 * MINUTE)
    return {
        "broker_transport_options": {"visibility_timeout": visibility},
        "result_backend_transport_options": {"visibility_timeout": visibility},
        # a worker that loses the broker connection cancels what it runs (redelivered elsewhere)
        # instead of finishing it unacknowledged while another worker gets the same message
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        "task_annotations": {
            name: {"time_limit": hard, "soft_time_limit": soft, **({"acks_late": False} if name in ACK_EARLY else {})}
            for name, (hard, soft) in TIME_LIMITS.items()
        },
    }


app = Celery("custos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.add_defaults(_delivery_defaults)
app.autodiscover_tasks()
