"""Catalog signals (sent after commit) -> lineage services."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver

from catalog.choices import ClassificationSource
from catalog.models import ModelVersion
from catalog.signals import classification_changed, model_version_changed
from lineage.propagation import propagation_recompute

COMPONENT = "custos:lineage"


@receiver(classification_changed, dispatch_uid="lineage.propagate")
def classification_changed_propagate(sender, *, column_id, entity_type, source, change, **kwargs) -> None:
    # Propagation's own writes (created/refreshed/withdrawn propagated rows) must not recurse;
    # a steward's decision on a propagated row does change what flows on from it.
    if source == ClassificationSource.PROPAGATED and change not in {"confirmed", "rejected"}:
        return
    propagation_recompute(column_ids={column_id}, entity_types={entity_type})


@receiver(model_version_changed, dispatch_uid="lineage.model_version")
def model_version_changed_link(sender, *, model_version_id, change, **kwargs) -> None:
    from lineage.services import model_version_link, model_version_unlink

    if change == "deleted":
        model_version_unlink(model_version_id=model_version_id, actor=COMPONENT)
        return
    model_version = ModelVersion.objects.filter(pk=model_version_id).first()
    if model_version is not None:
        model_version_link(model_version=model_version, actor=COMPONENT)


def _link_after_commit(model_version_id: int) -> None:
    transaction.on_commit(lambda: model_version_changed_link(None, model_version_id=model_version_id, change="updated"))


# catalog.services.model_version_register/update do not send model_version_changed yet; the
# training/evaluation sets are written through .set(), so follow those m2m writes (after commit).
@receiver(m2m_changed, sender=ModelVersion.training_datasets.through, dispatch_uid="lineage.mv.training")
@receiver(m2m_changed, sender=ModelVersion.evaluation_datasets.through, dispatch_uid="lineage.mv.evaluation")
def model_version_datasets_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        _link_after_commit(instance.pk)
    else:  # asset.trained_model_versions.add(...): instance is the asset
        for pk in pk_set or ModelVersion.objects.none().values_list("pk", flat=True):
            _link_after_commit(pk)


@receiver(post_delete, sender=ModelVersion, dispatch_uid="lineage.mv.delete")
def model_version_deleted(sender, instance, **kwargs) -> None:
    model_version_id = instance.pk
    transaction.on_commit(lambda: model_version_changed_link(None, model_version_id=model_version_id, change="deleted"))
