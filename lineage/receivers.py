"""Catalog signals (sent after commit) -> lineage services."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.choices import ClassificationSource
from catalog.models import DataAsset, ModelVersion
from catalog.signals import classification_changed, classifications_changed, model_version_changed
from lineage.propagation import propagation_recompute

COMPONENT = "custos:lineage"


@receiver(classification_changed, dispatch_uid="lineage.propagate")
def classification_changed_propagate(sender, *, column_id, entity_type, source, change, **kwargs) -> None:
    # Propagation's own writes (created/refreshed/withdrawn propagated rows) must not recurse;
    # a steward's decision on a propagated row does change what flows on from it.
    if _propagates(source, change):
        propagation_recompute(column_ids={column_id}, entity_types={entity_type})


@receiver(classifications_changed, dispatch_uid="lineage.propagate_bulk")
def classifications_changed_propagate(sender, *, changes, **kwargs) -> None:
    """A bulk write: one recompute from all the columns whose change can flow downstream."""
    relevant = [c for c in changes if _propagates(c["source"], c["change"])]
    if relevant:
        propagation_recompute(column_ids={c["column_id"] for c in relevant}, entity_types={c["entity_type"] for c in relevant})


def _propagates(source: str, change: str) -> bool:
    return not (source == ClassificationSource.PROPAGATED and change not in {"confirmed", "rejected"})


@receiver(model_version_changed, dispatch_uid="lineage.model_version")
def model_version_changed_link(sender, *, model_version_id, change, **kwargs) -> None:
    from lineage.services import model_version_link, model_version_unlink

    if change == "deleted":
        model_version_unlink(model_version_id=model_version_id, actor=COMPONENT)
        return
    model_version = ModelVersion.objects.filter(pk=model_version_id).first()
    if model_version is not None:
        model_version_link(model_version=model_version, actor=COMPONENT)


@receiver(post_save, sender=DataAsset, dispatch_uid="lineage.scope_saved")
@receiver(post_delete, sender=DataAsset, dispatch_uid="lineage.scope_deleted")
def asset_written_rescope(sender, **kwargs) -> None:
    """Any asset write may change what is restricted: this process's scope set is dropped now (a
    read later in the same transaction sees the write) and again when the write commits
    (lineage.graph.RestrictedAssets), so the next read after either is exact."""
    from lineage.graph import cache

    cache.restricted.invalidate()
    transaction.on_commit(cache.restricted.invalidate)
