"""Celery tasks of compliance.policies: thin, take ids, call one service."""

from __future__ import annotations

import contextlib

from celery import shared_task

COMPONENT = "custos:policies"


@shared_task(name="policies.evaluate_asset", ignore_result=True)
def policy_evaluate_asset(asset_id: int) -> None:
    from catalog.models import DataAsset
    from compliance.policies.actions.evaluate import policy_evaluate

    asset = DataAsset.objects.filter(pk=asset_id).first()
    if asset is not None:
        policy_evaluate(actor=COMPONENT, asset=asset)
        for mv in asset.trained_model_versions.all():
            policy_evaluate(actor=COMPONENT, model_version=mv)


@shared_task(name="policies.evaluate_model_version", ignore_result=True)
def policy_evaluate_model_version(model_version_id: int) -> None:
    from catalog.models import ModelVersion
    from compliance.policies.actions.evaluate import policy_evaluate

    mv = ModelVersion.objects.filter(pk=model_version_id).first()
    if mv is not None:
        policy_evaluate(actor=COMPONENT, model_version=mv)


@shared_task(name="policies.evaluate_all", ignore_result=True)
def policy_evaluate_all() -> None:
    from compliance.policies.actions.evaluate import evaluate_all

    evaluate_all(actor=COMPONENT)


def _actor(user_id: int | None):
    """The user a task acts for (the services check the role matrix); no user id: the system
    component. A user that no longer exists acts as nobody (the service refuses), never as the system."""
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    if not user_id:
        return COMPONENT
    return User.objects.filter(pk=user_id).first() or AnonymousUser()


@shared_task(name="policies.retention_enforce", ignore_result=True)
def retention_enforce(dry_run: bool = False, user_id: int | None = None) -> int:
    """The beat entry (no user: the system component) or a run queued for a user: a real
    enforcement pass unless ``dry_run`` (each action audited; legal holds honoured)."""
    from compliance.retention.services import retention_enforce as enforce

    return enforce(actor=_actor(user_id), dry_run=dry_run).pk


@shared_task(name="policies.anonymization_execute", ignore_result=True)
def anonymization_execute(run_id: int, user_id: int | None = None) -> None:
    """Run a queued anonymization (``services.anonymization_start``)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from compliance.anonymization.services import anonymization_execute as execute
    from compliance.policies.models import AnonymizationRun

    run = AnonymizationRun.objects.select_related("source_asset", "policy").filter(pk=run_id).first()
    if run is None:
        return
    actor = _actor(user_id)
    with contextlib.suppress(
        ValidationError, PermissionDenied
    ):  # bad input or a refusal: the run row holds the error, the failure is audited
        execute(run=run, actor=actor)
