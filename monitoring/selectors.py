"""Reads of the monitoring app, always scoped by ``restrict(user, action)`` (MonitoringQuerySet)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.permissions import VIEW
from core.types import Actor

from .models import Alert, LoggedBatch, Monitor, MonitorResult, MonitorRun, ReferenceProfile


def monitor_list(*, user: Actor) -> QuerySet[Monitor]:
    return Monitor.objects.restrict(user, VIEW).select_related("model_version", "model_version__model")


def reference_profile_list(*, user: Actor) -> QuerySet[ReferenceProfile]:
    return ReferenceProfile.objects.restrict(user, VIEW).select_related("model_version").defer("profile")


def batch_list(*, user: Actor) -> QuerySet[LoggedBatch]:
    return LoggedBatch.objects.restrict(user, VIEW).select_related("model_version")


def run_list(*, user: Actor) -> QuerySet[MonitorRun]:
    return MonitorRun.objects.restrict(user, VIEW).select_related("monitor")


def result_list(*, user: Actor) -> QuerySet[MonitorResult]:
    return MonitorResult.objects.restrict(user, VIEW).select_related("run")


def alert_list(*, user: Actor) -> QuerySet[Alert]:
    return Alert.objects.restrict(user, VIEW).select_related("monitor")
