"""``monitor_create`` (ADD) and ``monitor_update`` (CHANGE): what a model version's monitor watches."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import ADD, CHANGE, require
from audit import services as audit
from core.types import Actor
from monitoring.models import Monitor
from monitoring.stats.quality import QualityConfig

from ._common import check_visible, drift_options, user_or_none

EDITABLE = (
    "name",
    "columns",
    "kinds",
    "drift_options",
    "quality_checks",
    "task",
    "prediction_column",
    "probability_column",
    "id_column",
    "label_column",
    "reference_metrics",
    "schedule_minutes",
    "chunk_rows",
    "chunk_minutes",
    "multivariate_methods",
    "active",
)


def _validate(monitor: Monitor) -> None:
    drift_options(monitor.drift_options)
    try:
        QualityConfig.from_json(monitor.quality_checks)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"quality_checks": str(exc).splitlines()[0]}) from None
    bad = {k: v for k, v in monitor.kinds.items() if v not in ("num", "cat")}
    if bad:
        raise ValidationError({"kinds": "a declared kind is num or cat"})
    monitor.full_clean()


def monitor_create(
    *, actor: Actor | str, model_version, name: str, reference_asset=None, reference_profile=None, **fields: Any
) -> Monitor:
    require(actor, ADD, "monitors")
    check_visible(actor, model_version=model_version, asset=reference_asset)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    monitor = Monitor(
        model_version=model_version,
        name=name,
        reference_asset=reference_asset,
        reference_profile=reference_profile,
        created_by=user_or_none(actor),
        **fields,
    )
    _validate(monitor)
    with transaction.atomic():
        monitor.save()
        audit.record(
            actor=actor,
            action="monitoring.monitor_create",
            target=monitor,
            details={
                "model_version": model_version.pk,
                "reference_asset": reference_asset.pk if reference_asset else None,
                "reference_profile": reference_profile.pk if reference_profile else None,
                "columns": len(monitor.columns),
                "task": monitor.task,
            },
        )
    return monitor


def monitor_update(*, actor: Actor | str, monitor: Monitor, **fields: Any) -> Monitor:
    require(actor, CHANGE, "monitors")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().get(pk=monitor.pk)
        changed = sorted(k for k, v in fields.items() if getattr(monitor, k) != v)
        for key, value in fields.items():
            setattr(monitor, key, value)
        _validate(monitor)
        monitor.save()
        audit.record(actor=actor, action="monitoring.monitor_update", target=monitor, details={"fields": changed})
    return monitor
