"""Catalog signals (sent after commit) -> re-evaluation of the findings they can change.

Classification changes (including those lineage propagation makes), asset and model version
changes each queue an evaluation of the object they touch; a bulk classification write
(``classifications_changed``) queues one evaluation per asset it touched. A failing evaluation is logged (ids
only) and never breaks the write that triggered it.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from catalog.signals import asset_changed, classification_changed, classifications_changed, model_version_changed

logger = logging.getLogger(__name__)


def _queue(task, object_id: int) -> None:
    try:
        task.delay(object_id)
    except Exception:  # noqa: BLE001 - evaluation is advisory; the write already committed
        logger.exception("policy re-evaluation of %s failed", object_id)


@receiver(classification_changed, dispatch_uid="policies.classification_changed")
def on_classification_changed(sender, *, column_id, **kwargs) -> None:
    from catalog.models import Column
    from compliance.policies.tasks import policy_evaluate_asset

    asset_id = Column.objects.filter(pk=column_id).values_list("asset_id", flat=True).first()
    if asset_id is not None:
        _queue(policy_evaluate_asset, asset_id)


@receiver(classifications_changed, dispatch_uid="policies.classifications_changed")
def on_classifications_changed(sender, *, asset_ids, **kwargs) -> None:
    """A bulk classification write: one evaluation per asset touched, however many columns changed."""
    from compliance.policies.tasks import policy_evaluate_asset

    for asset_id in asset_ids:
        _queue(policy_evaluate_asset, asset_id)


@receiver(asset_changed, dispatch_uid="policies.asset_changed")
def on_asset_changed(sender, *, asset_id, **kwargs) -> None:
    from compliance.policies.tasks import policy_evaluate_asset

    _queue(policy_evaluate_asset, asset_id)


@receiver(model_version_changed, dispatch_uid="policies.model_version_changed")
def on_model_version_changed(sender, *, model_version_id, change, **kwargs) -> None:
    from compliance.policies.tasks import policy_evaluate_model_version

    if change != "deleted":
        _queue(policy_evaluate_model_version, model_version_id)
