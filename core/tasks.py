"""Celery tasks of ``core``: the run reaper's beat tick (``core.reaper``)."""

from __future__ import annotations

import logging

from celery import shared_task

from core import reaper

logger = logging.getLogger(__name__)


@shared_task(name="core.reap_runs", ignore_result=True, acks_late=False)
def reap_runs() -> int:
    try:
        reaped = reaper.reap_runs()
    except reaper.BrokerUnreachable as exc:
        logger.warning("reaper: cannot ask the workers (%s): nothing reaped", exc)
        return 0
    if reaped:
        logger.warning("%s", reaper.summary(reaped))
    return len(reaped)
