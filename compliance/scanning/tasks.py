"""Celery tasks of PII scanning: thin, they take ids and call one service.

``scan_run`` opens the source and fans its chunks out as ``scan_chunk`` tasks over every running
worker; the last chunk merges. With ``CELERY_TASK_ACKS_LATE`` a chunk whose worker is killed is
redelivered and recomputed; its result is stored once (see ``services.scan_chunk_execute``).
"""

from __future__ import annotations

import logging

from celery import shared_task

from compliance.scanning import services

logger = logging.getLogger(__name__)


@shared_task(name="scanning.scan_run", acks_late=True, reject_on_worker_lost=True)
def scan_run(run_id: int) -> None:
    try:
        services.scan_execute(run_id=run_id)
    except Exception as exc:
        # the exception's message may quote a cell value: log its type only
        logger.error("scan %s failed: %s", run_id, type(exc).__name__)
        services.scan_fail(run_id=run_id, error=f"{type(exc).__name__} while starting the scan")
        raise


@shared_task(name="scanning.scan_chunk", acks_late=True, reject_on_worker_lost=True, max_retries=3)
def scan_chunk(run_id: int, index: int) -> None:
    try:
        services.scan_chunk_execute(run_id=run_id, index=index)
    except Exception as exc:
        logger.error("scan %s chunk %s failed: %s", run_id, index, type(exc).__name__)
        services.scan_fail(run_id=run_id, error=f"chunk {index}: {type(exc).__name__} while scanning")
        raise
