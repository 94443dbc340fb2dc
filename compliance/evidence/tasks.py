"""Celery task of evidence exports: thin, takes the id and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

from compliance.evidence import services

logger = logging.getLogger(__name__)


@shared_task(name="evidence.export_build", acks_late=True, reject_on_worker_lost=True)
def export_build(export_id: int) -> str:
    export = services.export_build(export_id=export_id)
    return export.status
