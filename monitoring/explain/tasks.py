"""Scheduled MLflow registry sync: ``explain.mlflow_sync`` runs ``mlflow_sync.mlflow_sync`` as the
system actor when ``CUSTOS_MLFLOW_TRACKING_URI`` is set (a beat entry schedules it; docs/explain.md)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

SYSTEM_ACTOR = "system:mlflow-sync"


@shared_task(name="explain.mlflow_sync", acks_late=True, ignore_result=True)
def mlflow_sync_task() -> dict | None:
    from .mlflow_sync import mlflow_sync

    if not getattr(settings, "CUSTOS_MLFLOW_TRACKING_URI", ""):
        return None
    return mlflow_sync(actor=SYSTEM_ACTOR).counts
