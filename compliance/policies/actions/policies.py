"""Policies (retention, anonymization, access): steward decisions (``decide``), audited, and
re-evaluated after commit for the assets they cover."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from accounts.permissions import DECIDE, require
from audit.services import record
from catalog.models import DataAsset
from compliance.policies.actions.evaluate import after_commit_evaluate_all, after_commit_evaluate_policy, evaluate_assets_async
from compliance.policies.models import Policy
from core.types import Actor

M2M = ("assets", "domains")


def policy_create(
    *,
    actor: Actor | str,
    name: str,
    kind: str,
    config: dict[str, Any],
    owner: Any = None,
    assets: Iterable[DataAsset] = (),
    domains: Iterable[Any] = (),
    **data: Any,
) -> Policy:
    """Create a policy; its owner is the acting steward unless given. Re-evaluates what it covers."""
    require(actor, DECIDE, "policies")
    with transaction.atomic():
        policy = Policy(
            name=name, kind=kind, config=config, owner=owner or (actor if getattr(actor, "pk", None) else None), **data
        )
        policy.full_clean()
        policy.save()
        policy.assets.set(list(assets))
        policy.domains.set(list(domains))
        record(
            actor=actor,
            action="policies.policy.create",
            target=policy,
            details={
                "kind": kind,
                "assets": sorted(a.pk for a in policy.assets.all()),
                "domains": sorted(d.pk for d in policy.domains.all()),
            },
        )
        after_commit_evaluate_policy(policy)
    return policy


def policy_update(*, policy: Policy, actor: Actor | str, **data: Any) -> Policy:
    require(actor, DECIDE, "policies")
    with transaction.atomic():
        changes: dict[str, Any] = {}
        before_assets = set(policy.assets.values_list("pk", flat=True))
        for name, value in data.items():
            if name in M2M:
                getattr(policy, name).set(list(value))
                changes[name] = True
            elif getattr(policy, name) != value:
                setattr(policy, name, value)
                changes[name] = (
                    {"from": getattr(Policy.objects.get(pk=policy.pk), name), "to": value}
                    if name in ("enabled", "priority")
                    else True
                )
        policy.full_clean()
        policy.save()
        if changes:
            record(actor=actor, action="policies.policy.update", target=policy, details={"changes": changes})
        after_commit_evaluate_policy(policy, also=before_assets)
    return policy


def policy_delete(*, policy: Policy, actor: Actor | str, reason: str = "") -> None:
    require(actor, DECIDE, "policies")
    with transaction.atomic():
        assets = set(policy.assets.values_list("pk", flat=True))
        everything = not assets
        pk, kind = policy.pk, policy.kind
        policy.delete()
        record(
            actor=actor,
            action="policies.policy.delete",
            target_type="policies.policy",
            target_id=pk,
            reason=reason,
            details={"kind": kind},
        )
        if everything:
            after_commit_evaluate_all()
        else:
            transaction.on_commit(lambda: evaluate_assets_async(assets))
