"""Services of the monitoring app: each checks the actor's permission (accounts.permissions.require),
validates, writes and appends its audit event in the same transaction. Audit details hold ids, counts,
digests and method names only.

* ``reference_profile_create`` ADD     profile a reference once and store it
* ``monitor_create``           ADD     what a model version's monitor watches
* ``monitor_update``           CHANGE
* ``batch_log``                ADD     production inputs/predictions or late labels (files via compliance.datasets)
* ``monitor_run``              ADD     drift, data quality, performance over the current window; opens/resolves alerts
                                       (a large window fans out over the workers: ``fanout``)
* ``chunk_update``             ADD     fold a new batch into the open chunk's running statistics and check it
* ``alert_acknowledge``        CHANGE  open -> acknowledged, a reason required
* ``alert_resolve``            CHANGE  -> resolved, a reason required
* ``quality_suite_create`` / ``quality_suite_update`` / ``quality_suite_run`` / ``quality_alert_acknowledge`` /
  ``quality_alert_resolve``: per-asset data-quality suites (``quality_suites``)
"""

from .alerts import alert_acknowledge, alert_resolve, sync_alerts
from .batches import batch_log, batch_log_file
from .monitors import monitor_create, monitor_update
from .profiles import reference_profile_create
from .quality_suites import (
    quality_alert_acknowledge,
    quality_alert_resolve,
    quality_suite_create,
    quality_suite_run,
    quality_suite_update,
)
from .runs import monitor_run, new_batches
from .stream import chunk_update

__all__ = [
    "alert_acknowledge",
    "alert_resolve",
    "batch_log",
    "batch_log_file",
    "chunk_update",
    "monitor_create",
    "monitor_run",
    "monitor_update",
    "new_batches",
    "quality_alert_acknowledge",
    "quality_alert_resolve",
    "quality_suite_create",
    "quality_suite_run",
    "quality_suite_update",
    "reference_profile_create",
    "sync_alerts",
]
