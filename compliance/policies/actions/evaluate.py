"""Evaluation of assets and model versions against the enabled rules; findings upserted.

``policy_evaluate``/``evaluate_all`` need ``decide`` for a user actor (the receivers, the beat entry
and the command without ``--user`` act as the system component). An evaluation that changes no
finding writes nothing; one that does is the audit event ``policies.evaluate`` with the counts.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, require
from audit.services import record
from catalog.choices import AssetStatus
from catalog.models import DataAsset, ModelVersion
from compliance.policies import evaluation, selectors
from compliance.policies.choices import FindingStatus
from compliance.policies.models import Finding, Policy
from core.types import Actor

WHAT = "policy evaluations"


def _upsert_findings(*, hits, asset: DataAsset | None, model_version: ModelVersion | None, actor: Actor | str) -> dict[str, int]:
    """Open new findings, refresh changed ones, resolve the ones no longer found. A finding whose
    content did not change is not written (``last_seen`` is the last evaluation that changed it)."""
    now = timezone.now()
    target = f"asset:{asset.pk}" if asset is not None else f"model_version:{model_version.pk}"
    scope = {"asset": asset} if asset is not None else {"model_version": model_version}
    existing = {f.fingerprint: f for f in Finding.objects.filter(**scope)}
    seen = set()
    opened = reopened = updated = 0
    for rule, hit in hits:
        fingerprint = f"{rule.code}|{target}|{hit.key}"[:200]
        seen.add(fingerprint)
        finding = existing.get(fingerprint) or Finding.objects.filter(fingerprint=fingerprint).first()
        values = {
            "rule_id": rule.pk,
            "regulation": rule.pack.code,
            "severity": rule.severity,
            "citation": rule.citation,
            "message": hit.message,
            "evidence": hit.evidence,
            "fix": rule.fix,
        }
        if finding is None:
            finding = Finding(fingerprint=fingerprint, status=FindingStatus.OPEN, last_seen=now, **scope, **values)
            opened += 1
        elif finding.status == FindingStatus.OPEN and all(getattr(finding, k) == v for k, v in values.items()):
            continue
        else:
            if finding.status != FindingStatus.OPEN:
                reopened += 1
            else:
                updated += 1
            for name, value in values.items():
                setattr(finding, name, value)
            finding.status, finding.resolved_at, finding.last_seen = FindingStatus.OPEN, None, now
        finding.full_clean(exclude=["rule", "asset", "model_version"], validate_unique=False)  # set here, known valid
        finding.save()
    stale = Finding.objects.filter(status=FindingStatus.OPEN, **scope).exclude(fingerprint__in=seen)
    resolved = stale.update(status=FindingStatus.RESOLVED, resolved_at=now, last_seen=now)
    return {"open": len(seen), "opened": opened, "reopened": reopened, "updated": updated, "resolved": resolved}


def policy_evaluate(
    *, actor: Actor | str, asset: DataAsset | None = None, model_version: ModelVersion | None = None
) -> dict[str, int]:
    """Re-evaluate one asset or model version against every enabled rule; open, refresh and resolve
    its findings. Audited as ``policies.evaluate`` with the counts whenever a finding changed."""
    require(actor, DECIDE, WHAT)
    if (asset is None) == (model_version is None):
        raise ValueError("give exactly one of asset or model_version")
    rules = evaluation.active_rules()
    index = selectors.category_index()
    with transaction.atomic():
        if asset is not None:
            hits = evaluation.evaluate_asset(asset, rules=rules, index=index)
        else:
            hits = evaluation.evaluate_model_version(model_version, rules=rules, index=index)
        counts = _upsert_findings(hits=hits, asset=asset, model_version=model_version, actor=actor)
        if counts["opened"] or counts["reopened"] or counts["updated"] or counts["resolved"]:
            # Audited when findings changed; an evaluation that changes nothing writes nothing.
            record(actor=actor, action="policies.evaluate", target=asset if asset is not None else model_version, details=counts)
    return counts


def evaluate_all(*, actor: Actor | str) -> dict[str, int]:
    """Evaluate every live asset and every model version."""
    require(actor, DECIDE, WHAT)
    totals = {"assets": 0, "model_versions": 0, "open": 0, "opened": 0, "resolved": 0}
    for asset in DataAsset.objects.exclude(status=AssetStatus.DELETED).select_related("source"):
        counts = policy_evaluate(actor=actor, asset=asset)
        totals["assets"] += 1
        for key in ("open", "opened", "resolved"):
            totals[key] += counts[key]
    for mv in ModelVersion.objects.select_related("model"):
        counts = policy_evaluate(actor=actor, model_version=mv)
        totals["model_versions"] += 1
        for key in ("open", "opened", "resolved"):
            totals[key] += counts[key]
    # Findings of deleted assets no longer apply.
    with transaction.atomic():
        gone = Finding.objects.filter(status=FindingStatus.OPEN, asset__status=AssetStatus.DELETED).update(
            status=FindingStatus.RESOLVED, resolved_at=timezone.now()
        )
        totals["resolved"] += gone
        record(actor=actor, action="policies.evaluate_all", target_type="policies.estate", target_id="all", details=totals)
    return totals


def evaluate_assets_async(asset_ids: Iterable[int]) -> None:
    from compliance.policies import tasks

    for asset_id in sorted(set(asset_ids)):
        tasks.policy_evaluate_asset.delay(asset_id)


def after_commit_evaluate_policy(policy: Policy, also: Iterable[int] = ()) -> None:
    assets = set(policy.assets.values_list("pk", flat=True)) | set(also)
    if assets and not policy.domains.exists() and not policy.entity_types:
        transaction.on_commit(lambda: evaluate_assets_async(assets))
    else:
        after_commit_evaluate_all()


def after_commit_evaluate_all() -> None:
    from compliance.policies import tasks

    transaction.on_commit(lambda: tasks.policy_evaluate_all.delay())
