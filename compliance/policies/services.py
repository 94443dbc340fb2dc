"""Every write of compliance.policies. Each function validates (``full_clean``), writes and appends
its audit event in one transaction, and takes the acting user (or a component name) as ``actor``.
Audit details hold ids, counts, enumerated values and keyed hashes; never data values.

File side effects (retention deletes, anonymized outputs) happen *inside* the transaction, after
the event is written and as its last step, so a failed change leaves no event and no event is
missing for a change that happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, require, role_of, user_can
from audit.services import record
from catalog.choices import AssetStatus, Sensitivity
from catalog.models import DataAsset, ModelVersion
from compliance.policies import access, anonymizer, evaluation, keys, operators, pack_loader, profiles, selectors
from compliance.policies.choices import (
    DESTRUCTIVE_ACTIONS,
    FindingStatus,
    GrantState,
    PolicyKind,
    Purpose,
    RetentionAction,
)
from compliance.policies.models import (
    AccessGrant,
    AnonymizationRun,
    Finding,
    LegalHold,
    Policy,
    RegulationCategory,
    RegulationPack,
    RegulationRule,
    RetentionRun,
)
from core.choices import RunStatus

logger = logging.getLogger(__name__)
COMPONENT = "custos:policies"


def _require(actor: Any, action: str, what: str) -> None:
    require(actor, action, what)


# --- regulation packs ---------------------------------------------------------------------------


def pack_install(*, document: dict[str, Any], actor: Any) -> RegulationPack:
    """Add (or update) an organisation's own pack. Built-in packs cannot be replaced this way."""
    _require(actor, DECIDE, "installing a regulation pack")
    try:
        pack_loader.validate_document(document)
    except pack_loader.PackError as exc:
        raise ValidationError({"document": str(exc)}) from exc
    existing = RegulationPack.objects.filter(code=document["code"]).first()
    if existing is not None and existing.builtin:
        raise ValidationError({"document": "a built-in pack cannot be replaced; override its rules instead"})
    with transaction.atomic():
        pack = pack_loader.load_document(
            document, Pack=RegulationPack, Category=RegulationCategory, Rule=RegulationRule, builtin=False
        )
        for category in pack.categories.all():
            category.full_clean()
        for rule in pack.rules.all():
            rule.full_clean()
        record(
            actor=actor,
            action="policies.pack.install",
            target=pack,
            details={
                "code": pack.code,
                "version": pack.version,
                "rules": pack.rules.count(),
                "categories": pack.categories.count(),
            },
        )
    _after_commit_evaluate_all()
    return pack


def pack_set_enabled(*, pack: RegulationPack, enabled: bool, actor: Any, reason: str = "") -> RegulationPack:
    _require(actor, DECIDE, "enabling or disabling a pack")
    with transaction.atomic():
        pack.enabled = enabled
        pack.full_clean()
        pack.save()
        record(actor=actor, action="policies.pack.enable" if enabled else "policies.pack.disable", target=pack, reason=reason)
    _after_commit_evaluate_all()
    return pack


def rule_override(
    *,
    rule: RegulationRule,
    actor: Any,
    reason: str,
    severity: str | None = None,
    enabled: bool | None = None,
    params: dict[str, Any] | None = None,
) -> RegulationRule:
    """Override a pack rule's severity, parameters or enabled flag; the pack's values stay in ``original``."""
    _require(actor, DECIDE, "overriding a regulation rule")
    if not reason.strip():
        raise ValidationError({"reason": "an override needs a reason"})
    with transaction.atomic():
        changes = {}
        for name, value in (("severity", severity), ("enabled", enabled), ("params", params)):
            if value is not None and getattr(rule, name) != value:
                changes[name] = {"from": getattr(rule, name), "to": value} if name != "params" else True
                setattr(rule, name, value)
        rule.overridden = True
        rule.override_reason = reason
        rule.full_clean()
        rule.save()
        record(
            actor=actor,
            action="policies.rule.override",
            target=rule,
            reason=reason,
            details={"code": rule.code, "changes": changes},
        )
    _after_commit_evaluate_all()
    return rule


def rule_override_clear(*, rule: RegulationRule, actor: Any, reason: str = "") -> RegulationRule:
    _require(actor, DECIDE, "clearing a rule override")
    with transaction.atomic():
        for name in ("severity", "params"):
            if name in rule.original:
                setattr(rule, name, rule.original[name])
        rule.enabled, rule.overridden, rule.override_reason = True, False, ""
        rule.full_clean()
        rule.save()
        record(actor=actor, action="policies.rule.override_clear", target=rule, reason=reason, details={"code": rule.code})
    _after_commit_evaluate_all()
    return rule


# --- policies -----------------------------------------------------------------------------------

M2M = ("assets", "domains")


def policy_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    config: dict[str, Any],
    owner: Any = None,
    assets: Iterable[DataAsset] = (),
    domains: Iterable[Any] = (),
    **data: Any,
) -> Policy:
    """Create a policy; its owner is the acting steward unless given. Re-evaluates what it covers."""
    _require(actor, DECIDE, "creating a policy")
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
        _after_commit_evaluate_policy(policy)
    return policy


def policy_update(*, policy: Policy, actor: Any, **data: Any) -> Policy:
    _require(actor, DECIDE, "changing a policy")
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
        _after_commit_evaluate_policy(policy, also=before_assets)
    return policy


def policy_delete(*, policy: Policy, actor: Any) -> None:
    _require(actor, DECIDE, "deleting a policy")
    with transaction.atomic():
        assets = set(policy.assets.values_list("pk", flat=True))
        everything = not assets
        pk, kind = policy.pk, policy.kind
        policy.delete()
        record(actor=actor, action="policies.policy.delete", target_type="policies.policy", target_id=pk, details={"kind": kind})
        if everything:
            _after_commit_evaluate_all()
        else:
            transaction.on_commit(lambda: _evaluate_assets_async(assets))


# --- legal holds --------------------------------------------------------------------------------


def legal_hold_place(*, asset: DataAsset, reference: str, actor: Any, reason: str = "") -> LegalHold:
    """Place a hold: every destructive retention action on the asset is blocked until released."""
    _require(actor, DECIDE, "placing a legal hold")
    with transaction.atomic():
        hold = LegalHold(
            asset=asset, reference=reference, reason=reason, created_by=actor if getattr(actor, "pk", None) else None
        )
        hold.full_clean()
        hold.save()
        record(actor=actor, action="policies.legal_hold.place", target=hold, reason=reason, details={"asset_id": asset.pk})
    return hold


def legal_hold_release(*, hold: LegalHold, actor: Any, reason: str = "") -> LegalHold:
    _require(actor, DECIDE, "releasing a legal hold")
    if hold.released_at is not None:
        raise ValidationError("this hold is already released")
    with transaction.atomic():
        hold.released_at = timezone.now()
        hold.released_by = actor if getattr(actor, "pk", None) else None
        hold.full_clean()
        hold.save()
        record(actor=actor, action="policies.legal_hold.release", target=hold, reason=reason, details={"asset_id": hold.asset_id})
    return hold


# --- access grants ------------------------------------------------------------------------------


def grant_request(
    *,
    user: Any,
    asset: DataAsset,
    purpose: str,
    actor: Any,
    justification: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    days: int = 30,
    effect: str = "allow",
) -> AccessGrant:
    """A user asks for time-bound access to an asset for a purpose (for themselves, or a steward
    asks on someone's behalf)."""
    if getattr(actor, "pk", None) != getattr(user, "pk", None):
        _require(actor, DECIDE, "requesting access for someone else")
    start = valid_from or timezone.now()
    with transaction.atomic():
        grant = AccessGrant(
            user=user,
            asset=asset,
            purpose=purpose,
            justification=justification,
            effect=effect,
            requested_by=actor if getattr(actor, "pk", None) else None,
            valid_from=start,
            valid_until=valid_until or start + timedelta(days=days),
        )
        grant.full_clean()
        grant.save()
        record(
            actor=actor,
            action="policies.grant.request",
            target=grant,
            details={
                "user_id": user.pk,
                "asset_id": asset.pk,
                "purpose": purpose,
                "effect": effect,
                "valid_until": grant.valid_until.isoformat(),
            },
        )
    return grant


def _grant_decide(grant: AccessGrant, *, state: str, actor: Any, reason: str) -> AccessGrant:
    _require(actor, DECIDE, "deciding an access grant")
    if state in (GrantState.APPROVED, GrantState.REJECTED) and grant.state != GrantState.REQUESTED:
        raise ValidationError(f"only a requested grant can be {state}")
    if state == GrantState.REVOKED and grant.state != GrantState.APPROVED:
        raise ValidationError("only an approved grant can be revoked")
    if state == GrantState.APPROVED and getattr(actor, "pk", None) in (grant.user_id, grant.requested_by_id):
        raise ValidationError("a grant is approved by a steward other than the person it is for or who asked for it")
    with transaction.atomic():
        old = grant.state
        grant.state = state
        grant.decided_by = actor if getattr(actor, "pk", None) else None
        grant.decided_at = timezone.now()
        grant.full_clean()
        grant.save()
        record(
            actor=actor,
            action=f"policies.grant.{ {'approved': 'approve', 'rejected': 'reject', 'revoked': 'revoke'}[state] }",
            target=grant,
            reason=reason,
            details={
                "state": {"from": old, "to": state},
                "user_id": grant.user_id,
                "asset_id": grant.asset_id,
                "purpose": grant.purpose,
            },
        )
    return grant


def grant_approve(*, grant: AccessGrant, actor: Any, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.APPROVED, actor=actor, reason=reason)


def grant_reject(*, grant: AccessGrant, actor: Any, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.REJECTED, actor=actor, reason=reason)


def grant_revoke(*, grant: AccessGrant, actor: Any, reason: str = "") -> AccessGrant:
    return _grant_decide(grant, state=GrantState.REVOKED, actor=actor, reason=reason)


# --- access decisions and data reads -----------------------------------------------------------


def access_decide(*, user: Any, asset: DataAsset, purpose: str, actor: Any, channel: str = "api") -> access.Decision:
    """Decide and record the decision (allow or deny) with its reasons in the audit ledger."""
    decision = access.decide(user=user, asset=asset, purpose=purpose)
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.access.decide",
            target=asset,
            reason="; ".join(decision.reasons),
            details={
                "user_id": getattr(user, "pk", None),
                "role": decision.role,
                "purpose": purpose if purpose in Purpose.values else "(invalid)",
                "effect": decision.effect,
                "policy_ids": decision.policy_ids,
                "grant_id": decision.grant_id,
                "masked_columns": len(decision.masked_columns),
                "channel": channel,
            },
        )
    return decision


def resolve_location(location: str) -> Path | str:
    """A file asset's path (relative paths are under the repository), or a table's ``URL#table``."""
    if anonymizer.is_table(location):
        return location
    path = Path(location.removeprefix("file://"))
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def _read_head(path: Path | str, limit: int) -> pd.DataFrame:
    if anonymizer.is_table(path):
        return next(iter(anonymizer._chunks(path, "sql", limit)), pd.DataFrame()).head(limit)
    fmt = anonymizer.file_format(path)
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, nrows=limit)
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=limit), None)
    return batch.to_pandas() if batch is not None else pd.DataFrame()


def asset_sample_read(
    *, user: Any, asset: DataAsset, purpose: str, limit: int = 20
) -> tuple[access.Decision, pd.DataFrame | None]:
    """Up to ``limit`` rows of a file asset, masked or not per the access decision. The decision and
    the read are both audited; a denied read returns no rows."""
    decision = access_decide(user=user, asset=asset, purpose=purpose, actor=user, channel="sample")
    if decision.effect == "deny":
        return decision, None
    if not asset.location:
        raise ValidationError({"asset": "this asset has no file location to sample"})
    path = resolve_location(asset.location)
    try:
        frame = _read_head(path, max(1, min(limit, 200)))
    except (anonymizer.AnonymizeError, OSError) as exc:
        raise ValidationError({"asset": f"cannot read the asset's data ({type(exc).__name__})"}) from exc
    if decision.effect == "allow_masked":
        # Classified columns, and columns whose name says they identify someone (not yet scanned).
        named = [str(c) for c in frame.columns if profiles.name_hint(str(c))[1] in profiles.HIPAA_SAFE_HARBOR["entity_types"]]
        named = [c for c in named if profiles.name_hint(c)[1] not in ("DATE_TIME", "AGE")]
        decision.masked_columns = sorted(set(decision.masked_columns) | set(named))
        ctx = operators.Context(reference_year=timezone.now().year)
        for column in decision.masked_columns:
            if column in frame.columns:
                frame[column] = operators.apply(frame[column], {"operator": "hmac", "length": 12}, ctx)
    with transaction.atomic():
        record(
            actor=user,
            action="policies.asset.sample_read",
            target=asset,
            details={
                "purpose": purpose,
                "effect": decision.effect,
                "rows": int(len(frame)),
                "masked_columns": decision.masked_columns,
            },
        )
    return decision, frame


# --- keys and reversal --------------------------------------------------------------------------


def key_rotate(*, actor: Any, reason: str = "") -> str:
    """Create a new key in the key ring and make it active (earlier keys stay for decryption)."""
    _require(actor, DECIDE, "rotating keys")
    ring = keys.keyring()
    with transaction.atomic():
        kid = ring.rotate()
        record(
            actor=actor,
            action="policies.key.rotate",
            target_type="policies.key",
            target_id=kid,
            reason=reason,
            details={"kid": kid},
        )
    return kid


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def token_reveal_authorize(
    *, actor: Any, purpose: str, reason: str = "", token: str = "", asset: DataAsset | None = None, role_only: bool = False
) -> None:
    """Refuse, and audit the refusal as ``policies.token.reveal_denied``, unless ``actor`` may reveal
    tokens (``decide``) and -- unless ``role_only`` -- gives a purpose other than marketing and a
    reason. :func:`token_reveal` calls it first; the API view calls it with ``role_only=True``
    before it validates the request body, so a role without ``decide`` gets 403, never a 400."""
    allowed = isinstance(actor, str) or user_can(actor, DECIDE)
    purpose_ok = purpose in Purpose.values and purpose != Purpose.MARKETING and bool(reason.strip())
    if allowed and (role_only or purpose_ok):
        return
    digest = _token_digest(token) if token else "-"
    target = {"target": asset} if asset is not None else {"target_type": "policies.token", "target_id": digest}
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.token.reveal_denied",
            reason=reason,
            details={
                "token_sha256_16": digest,
                "purpose": purpose if purpose in Purpose.values else "(invalid)",
                "role": role_of(actor),
            },
            **target,
        )
    require(actor, DECIDE, "tokens (revealing one is a steward decision)")
    raise PermissionDenied("revealing a token needs a purpose other than marketing and a reason")


def token_reveal(*, token: str, purpose: str, actor: Any, reason: str = "", asset: DataAsset | None = None) -> str:
    """Decrypt an ``siv:``/``gcm:`` token for an authorised user (admin or steward) with a purpose.

    Both the reveal and a refused attempt are audit events; the event holds a keyed hash of the
    token, never the plaintext."""
    ring = keys.keyring()
    digest = _token_digest(token)
    target = {"target": asset} if asset is not None else {"target_type": "policies.token", "target_id": digest}
    token_reveal_authorize(actor=actor, purpose=purpose, reason=reason, token=token, asset=asset)
    try:
        plaintext = ring.decrypt(token)
    except keys.KeyError_ as exc:
        raise ValidationError({"token": str(exc)}) from exc
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.token.reveal",
            reason=reason,
            details={"token_sha256_16": digest, "kid": token.split(":")[1], "purpose": purpose},
            **target,
        )
    return plaintext


# --- anonymization runs -------------------------------------------------------------------------


def anonymization_profile(name: str) -> tuple[dict[str, Any], Policy | None]:
    """A profile from a built-in profile name or the name of an anonymization policy."""
    if name in profiles.BUILTIN_PROFILES:
        return profiles.resolve({"profile": name}), None
    policy = Policy.objects.filter(name=name, kind=PolicyKind.ANONYMIZATION).first()
    if policy is None:
        raise ValidationError(
            {
                "policy": f"unknown policy {name!r}: use {', '.join(sorted(profiles.BUILTIN_PROFILES))} or an anonymization policy's name"
            }
        )
    profile = profiles.resolve(policy.config)
    profile["name"] = policy.name
    return profile, policy


def _run_create(*, actor, policy: str, source_asset, source_path, output_path, status: str) -> AnonymizationRun:
    profile, policy_obj = anonymization_profile(policy)
    if source_asset is not None:
        if not source_asset.location:
            raise ValidationError({"source_asset": "the asset has no file or table location"})
        src = resolve_location(source_asset.location)
    elif source_path is not None:
        src = str(source_path) if anonymizer.is_table(source_path) else Path(source_path)
    else:
        raise ValidationError("give source_asset or source_path")
    dst = str(output_path) if anonymizer.is_table(output_path) else Path(output_path)
    with transaction.atomic():
        run = AnonymizationRun(
            source_asset=source_asset,
            policy=policy_obj,
            profile=profile["name"],
            source_path=str(src),
            output_path=str(dst),
            status=status,
            started_by=actor if getattr(actor, "pk", None) else None,
            started_at=timezone.now(),
        )
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="policies.anonymization.start",
            target=run,
            details={"profile": run.profile, "source_asset_id": getattr(source_asset, "pk", None)},
        )
    return run


def anonymization_start(*, actor: Any, policy: str, source_asset: DataAsset, output_path: str | Path) -> AnonymizationRun:
    """Queue the anonymization of a cataloged asset: a ``pending`` run row now, the work on a
    Celery worker after commit (``tasks.anonymization_execute``). Poll the run for its report."""
    _require(actor, DECIDE, "anonymizing an asset")
    with transaction.atomic():
        run = _run_create(
            actor=actor,
            policy=policy,
            source_asset=source_asset,
            source_path=None,
            output_path=output_path,
            status=RunStatus.QUEUED,
        )
        from compliance.policies import tasks

        user_id = getattr(actor, "pk", None)
        transaction.on_commit(lambda: tasks.anonymization_execute.delay(run.pk, user_id))
    return run


def anonymization_run(
    *,
    actor: Any,
    policy: str,
    output_path: str | Path,
    source_asset: DataAsset | None = None,
    source_path: str | Path | None = None,
    register: bool = True,
    chunk_rows: int = 100_000,
) -> AnonymizationRun:
    """Anonymize a cataloged asset's file or table (or a plain file) into ``output_path``, now.

    For an asset, its classifications feed the column plan, the output is registered as a new
    asset and linked with an anonymizing lineage edge (``lineage.services.anonymization_link``).
    The run row keeps the report (operators per column, identifier check, re-scan, k-anonymity).
    """
    run = _run_create(
        actor=actor,
        policy=policy,
        source_asset=source_asset,
        source_path=source_path,
        output_path=output_path,
        status=RunStatus.RUNNING,
    )
    return anonymization_execute(run=run, actor=actor, register=register, chunk_rows=chunk_rows)


def anonymization_execute(
    *, run: AnonymizationRun, actor: Any, register: bool = True, chunk_rows: int = 100_000
) -> AnonymizationRun:
    """Do the work of a created run: write the output, verify it, register it (audited as
    ``policies.anonymization.finish`` or ``.fail``)."""
    if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return run  # a redelivered task
    profile, _ = anonymization_profile(run.policy.name if run.policy_id else run.profile)
    source_asset = run.source_asset
    classifications = (
        {c: sorted(es) for c, es in selectors.asset_entity_types(source_asset).items()} if source_asset is not None else None
    )
    src = run.source_path if anonymizer.is_table(run.source_path) else Path(run.source_path)
    dst = run.output_path if anonymizer.is_table(run.output_path) else Path(run.output_path)
    if run.status != RunStatus.RUNNING:
        AnonymizationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
        run.status = RunStatus.RUNNING
    try:
        report = anonymizer.anonymize_file(src, dst, profile=profile, classifications=classifications, chunk_rows=chunk_rows)
    except Exception as exc:
        with transaction.atomic():
            known = isinstance(exc, anonymizer.AnonymizeError | operators.OperatorError | keys.KeyError_)
            run.status, run.finished_at = RunStatus.FAILED, timezone.now()
            run.error = str(exc) if known else f"internal error ({type(exc).__name__})"
            run.save()
            record(actor=actor, action="policies.anonymization.fail", target=run, details={"error": type(exc).__name__})
        if known:
            raise ValidationError({"source": str(exc)}) from exc
        raise
    with transaction.atomic():
        run.report = report.as_dict()
        run.rows = report.rows
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        if register and source_asset is not None:
            run.target_asset = _register_output(run, source_asset, report, actor)
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="policies.anonymization.finish",
            target=run,
            details={
                "rows": report.rows,
                "passed": report.passed,
                "target_asset_id": run.target_asset_id,
                "operators": {c["name"]: c["operator"] for c in report.columns},
                "values_found_in_output": report.identifier_check.get("values_found_in_output"),
                "k": report.k_anonymity.get("k"),
            },
        )
    return run


def _register_output(run: AnonymizationRun, source_asset: DataAsset, report: anonymizer.Report, actor: Any) -> DataAsset:
    from catalog.services import asset_ensure, asset_update

    if anonymizer.is_table(run.output_path):
        location = run.output_path
    else:
        dst = Path(run.output_path)
        try:
            location = str(dst.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
        except ValueError:
            location = str(dst.resolve())
    kind = source_asset.kind if anonymizer.is_table(location) == anonymizer.is_table(source_asset.location) else "file"
    deidentified = profiles.BUILTIN_PROFILES.get(report.profile, {}).get("regulation") == "hipaa"
    target, created = asset_ensure(
        source=source_asset.source,
        qualified_name=f"{source_asset.qualified_name}__{report.profile}",
        actor=actor,
        name=f"{source_asset.name} ({report.profile})"[:200],
        kind=kind,
        location=location,
        description=f"Anonymized copy of asset {source_asset.pk} by anonymization run {run.pk} ({report.profile}).",
        sensitivity=Sensitivity.INTERNAL if deidentified else source_asset.sensitivity,
        domain=source_asset.domain,
    )
    if not created and target.location != location:
        asset_update(asset=target, actor=actor, location=location)
    pairs = [(c["name"], c["name"]) for c in report.columns if c["operator"] != "suppress"]
    from catalog.services import columns_sync

    columns_sync(asset=source_asset, columns=[{"name": c["name"]} for c in report.columns], actor=actor)
    try:
        from lineage.services import anonymization_link
    except ImportError:  # pragma: no cover - lineage ships with Custos; keep the run usable without it
        columns_sync(asset=target, columns=[{"name": t} for _, t in pairs], actor=actor)
        return target
    anonymization_link(
        source_asset=source_asset,
        target_asset=target,
        column_pairs=pairs,
        actor=actor,
        run_details={
            "anonymization_run_id": run.pk,
            "profile": report.profile,
            "operators": {c["name"]: c["operator"] for c in report.columns},
            "rows": report.rows,
            "passed": report.passed,
        },
    )
    return target


# --- retention ----------------------------------------------------------------------------------


def _retention_targets() -> list[tuple[Policy, DataAsset]]:
    pairs = []
    assets = list(DataAsset.objects.exclude(status=AssetStatus.DELETED).select_related("source"))
    for policy in selectors.retention_policies().prefetch_related("assets", "domains"):
        scoped_assets = {a.pk for a in policy.assets.all()}
        scoped_domains = {d.pk for d in policy.domains.all()}
        for asset in assets:
            if scoped_assets and asset.pk not in scoped_assets:
                continue
            if scoped_domains and asset.domain_id not in scoped_domains:
                continue
            if policy.entity_types:
                held = {e for es in selectors.asset_entity_types(asset).values() for e in es}
                if not set(policy.entity_types) & held:
                    continue
            # A row policy applies only to assets that have its date column.
            if policy.config.get("date_column") and not asset.columns.filter(name=policy.config["date_column"]).exists():
                continue
            pairs.append((policy, asset))
    return pairs


def _expired_mask(values: pd.Series, cutoff: datetime) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return (parsed < pd.Timestamp(cutoff)).fillna(False).astype(bool)


def _row_digest(values: Iterable[Any]) -> str:
    """Keyed hash over the removed rows' first-column values: proves which rows without naming them."""
    ring = keys.keyring()
    key = ring.ensure()
    mac = hashlib.sha256()
    for value in sorted(str(v) for v in values):
        mac.update(key.mac("hmac", value.encode("utf-8")))
    return f"{key.kid}:{mac.hexdigest()[:32]}"


def _apply_rows(path: Path, policy: Policy, cutoff: datetime, *, dry_run: bool, archive_to: Path | None, profile: dict | None):
    """Scan a file for expired rows; unless ``dry_run``, write the result to a temporary file.

    Returns (counts, tmp path or None, archive tmp path or None, first-column values of expired rows).
    """
    fmt = anonymizer.file_format(path)
    column = policy.config["date_column"]
    whole = pd.read_csv(path, dtype=str, keep_default_na=False) if fmt == "csv" else pq.read_table(path).to_pandas()
    if column not in whole.columns:
        raise ValidationError({"date_column": f"the file has no column {column}"})
    expired = _expired_mask(whole[column], cutoff)
    unparsed = int(pd.to_datetime(whole[column], errors="coerce", utc=True, format="mixed").isna().sum())
    counts = {"rows": int(len(whole)), "expired_rows": int(expired.sum()), "unparsed_dates": unparsed}
    ids = whole.loc[expired, whole.columns[0]].tolist()
    if dry_run or not expired.any():
        return counts, None, None, ids
    action = policy.config["action"]
    if action == RetentionAction.ANONYMIZE_ROWS:
        ctx = operators.Context(reference_year=timezone.now().year)
        from compliance.policies.presidio_text import make_scrubber

        ctx.scrubber = make_scrubber()
        plans = anonymizer.plan_columns(whole.head(2000), profile, scan=False)
        changed = anonymizer.transform_chunk(whole.loc[expired], plans, ctx)
        ctx.close()
        result = whole.astype(object)
        for name in result.columns:
            result.loc[expired, name] = changed[name] if name in changed.columns else None
    else:
        result = whole.loc[~expired]
    tmp = path.with_name(path.name + ".retention.partial")
    _write(result, tmp, fmt, like=path)
    archive_tmp = None
    if action == RetentionAction.ARCHIVE and archive_to is not None:
        archive_to.parent.mkdir(parents=True, exist_ok=True)
        archive_tmp = archive_to.with_name(archive_to.name + ".partial")
        _write(whole.loc[expired], archive_tmp, fmt, like=path)
    return counts, tmp, archive_tmp, ids


def _write(frame: pd.DataFrame, path: Path, fmt: str, *, like: Path) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
        return
    import pyarrow as pa

    schema = pq.read_schema(like)
    try:
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = pa.Table.from_pandas(frame.astype(object).where(frame.notna(), None).astype(str), preserve_index=False)
    pq.write_table(table, path)


def retention_enforce(*, actor: Any, dry_run: bool = True, now: datetime | None = None) -> RetentionRun:
    """Apply every enabled retention policy to the assets it covers.

    A dry run only counts. A real run records one audit event per action (rows deleted, archived or
    anonymized, with counts and a keyed digest of the affected rows) in the same transaction that
    swaps the file, so nothing is destroyed without its event. Active legal holds block every
    destructive action (recorded as ``blocked``). Asset-age policies flag only.
    """
    now = now or timezone.now()
    with transaction.atomic():
        run = RetentionRun(
            dry_run=dry_run,
            status=RunStatus.RUNNING,
            started_by=actor if getattr(actor, "pk", None) else None,
            started_at=timezone.now(),
        )
        run.full_clean()
        run.save()
        record(actor=actor, action="policies.retention.start", target=run, details={"dry_run": dry_run})
    items = []
    for policy, asset in _retention_targets():
        items.append(_enforce_one(run, policy, asset, actor=actor, dry_run=dry_run, now=now))
    summary = {
        "assets": len({i["asset_id"] for i in items}),
        "expired_rows": sum(i.get("expired_rows", 0) for i in items),
        "rows_deleted": sum(
            i.get("expired_rows", 0) for i in items if i["outcome"] == "done" and i["action"] == RetentionAction.DELETE_ROWS
        ),
        "rows_archived": sum(
            i.get("expired_rows", 0) for i in items if i["outcome"] == "done" and i["action"] == RetentionAction.ARCHIVE
        ),
        "rows_anonymized": sum(
            i.get("expired_rows", 0) for i in items if i["outcome"] == "done" and i["action"] == RetentionAction.ANONYMIZE_ROWS
        ),
        "blocked_by_legal_hold": sum(1 for i in items if i["outcome"] == "blocked_by_legal_hold"),
        "errors": sum(1 for i in items if i["outcome"] == "error"),
    }
    with transaction.atomic():
        run.report = {"now": now.isoformat(), "items": items, "summary": summary}
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.full_clean()
        run.save()
        record(actor=actor, action="policies.retention.finish", target=run, details={"dry_run": dry_run, **summary})
    transaction.on_commit(lambda: _evaluate_assets_async({i["asset_id"] for i in items}))
    return run


def _enforce_one(
    run: RetentionRun, policy: Policy, asset: DataAsset, *, actor: Any, dry_run: bool, now: datetime
) -> dict[str, Any]:
    config = policy.config
    cutoff = now - timedelta(days=config["max_age_days"])
    action = config["action"]
    item: dict[str, Any] = {
        "policy_id": policy.pk,
        "asset_id": asset.pk,
        "action": action,
        "max_age_days": config["max_age_days"],
        "cutoff": cutoff.isoformat(),
        "date_column": config.get("date_column"),
    }
    held = list(selectors.active_holds(asset).values_list("pk", flat=True))
    if not config.get("date_column"):
        expired = asset.created_at < cutoff
        item.update({"basis": "asset age", "expired": expired, "expired_rows": 0, "outcome": "flagged" if expired else "ok"})
        if expired and not dry_run:
            with transaction.atomic():
                record(
                    actor=actor,
                    action="policies.retention.flag",
                    target=asset,
                    details={"policy_id": policy.pk, "retention_run_id": run.pk},
                )
        return item
    if not asset.location:
        item.update({"outcome": "skipped", "note": "no location"})
        return item
    path = resolve_location(asset.location)
    if anonymizer.is_table(path):
        return _enforce_table(run, policy, asset, item, path, held=held, actor=actor, dry_run=dry_run, cutoff=cutoff)
    blocked = bool(held) and action in DESTRUCTIVE_ACTIONS
    profile = (
        profiles.resolve({"profile": config.get("profile", "hipaa-safe-harbor")})
        if action == RetentionAction.ANONYMIZE_ROWS
        else None
    )
    archive_to = (
        Path(settings.VAR_DIR) / "retention-archive" / str(asset.pk) / f"run{run.pk}-policy{policy.pk}{''.join(path.suffixes)}"
    )
    try:
        counts, tmp, archive_tmp, ids = _apply_rows(
            path,
            policy,
            cutoff,
            dry_run=dry_run or blocked or action == RetentionAction.FLAG,
            archive_to=archive_to,
            profile=profile,
        )
    except (ValidationError, anonymizer.AnonymizeError, OSError, ValueError) as exc:
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    item.update(counts)
    if dry_run:
        item["outcome"] = (
            "would_block" if blocked and counts["expired_rows"] else ("would_" + action if counts["expired_rows"] else "ok")
        )
        return item
    if not counts["expired_rows"]:
        item["outcome"] = "ok"
        return item
    if blocked:
        _retention_blocked(item, actor=actor, asset=asset, policy=policy, held=held, expired_rows=counts["expired_rows"], run=run)
        return item
    if action == RetentionAction.FLAG:
        item["outcome"] = "flagged"
        with transaction.atomic():
            record(
                actor=actor,
                action="policies.retention.flag",
                target=asset,
                details={"policy_id": policy.pk, "expired_rows": counts["expired_rows"], "retention_run_id": run.pk},
            )
        return item
    details = {
        "policy_id": policy.pk,
        "retention_run_id": run.pk,
        "rows_before": counts["rows"],
        "rows_affected": counts["expired_rows"],
        "cutoff": cutoff.isoformat(),
        "date_column": config["date_column"],
        "rows_digest": _row_digest(ids),
    }
    if archive_tmp is not None:
        details["archive"] = str(archive_to.relative_to(settings.VAR_DIR))
    try:
        with transaction.atomic():
            record(actor=actor, action=f"policies.retention.{action}", target=asset, details=details)
            # The destructive step is the last thing inside the transaction: if it fails the event rolls back.
            if archive_tmp is not None:
                archive_tmp.replace(archive_to)
            tmp.replace(path)
    except Exception as exc:
        for leftover in (tmp, archive_tmp):
            if leftover is not None and leftover.exists():
                leftover.unlink()
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    item["outcome"] = "done"
    return item


# --- retention on database tables -----------------------------------------------------------------


class _Table:
    """A writable connection to ``URL#table`` (sqlite3 or psycopg) for retention deletes. Rows are
    addressed by ``rowid`` (SQLite) or ``ctid`` (PostgreSQL), read and deleted in one run."""

    def __init__(self, url: str):
        base, _, table = url.partition("#")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", table):
            raise ValidationError({"location": "a table location is URL#table"})
        self.quoted = ".".join(f'"{part}"' for part in table.split("."))
        self.sqlite = base.startswith("sqlite:")
        if self.sqlite:
            import sqlite3

            self.conn = sqlite3.connect(base.removeprefix("sqlite:///"))
            self.key, self.mark = "rowid", "?"
        else:
            import psycopg

            self.conn = psycopg.connect(anonymizer._pg(base), connect_timeout=10)
            self.key, self.mark = "ctid::text", "%s"

    def dates(self, column: str) -> pd.DataFrame:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
            raise ValidationError({"date_column": "not a plain column name"})
        cur = self.conn.cursor()
        cur.execute(f'SELECT {self.key}, "{column}" FROM {self.quoted}')  # noqa: S608 - identifiers validated
        return pd.DataFrame(cur.fetchall(), columns=["key", "date"])

    def delete(self, keys: list[Any]) -> int:
        cur = self.conn.cursor()
        column = "rowid" if self.sqlite else "ctid"
        cast = "" if self.sqlite else "::tid"
        deleted = 0
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ", ".join(f"{self.mark}{cast}" for _ in batch)
            cur.execute(f"DELETE FROM {self.quoted} WHERE {column} IN ({marks})", batch)  # noqa: S608 - placeholders only
            deleted += cur.rowcount
        return deleted

    def close(self, *, commit: bool) -> None:
        (self.conn.commit if commit else self.conn.rollback)()
        self.conn.close()


def _enforce_table(run, policy, asset, item, url, *, held, actor, dry_run, cutoff) -> dict[str, Any]:
    action = policy.config["action"]
    try:
        table = _Table(url)
        frame = table.dates(policy.config["date_column"])
    except Exception as exc:  # noqa: BLE001 - reported per item, never the connection string
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    parsed = pd.to_datetime(frame["date"].astype(object), errors="coerce", utc=True, format="mixed")
    expired = (parsed < pd.Timestamp(cutoff)).fillna(False).to_numpy(dtype=bool)
    keys = frame.loc[expired, "key"].tolist()
    item.update({"rows": int(len(frame)), "expired_rows": len(keys), "unparsed_dates": int(parsed.isna().sum())})
    blocked = bool(held) and action in DESTRUCTIVE_ACTIONS
    if dry_run or not keys or action not in (RetentionAction.DELETE_ROWS, RetentionAction.FLAG) or blocked:
        table.close(commit=False)
        if dry_run:
            item["outcome"] = ("would_block" if blocked else "would_" + action) if keys else "ok"
        elif not keys:
            item["outcome"] = "ok"
        elif blocked:
            _retention_blocked(item, actor=actor, asset=asset, policy=policy, held=held, expired_rows=len(keys), run=run)
        elif action != RetentionAction.FLAG:
            item.update(
                {"outcome": "skipped", "note": f"{action} is not supported for database tables (delete_rows and flag are)"}
            )
        return item
    if action == RetentionAction.FLAG:
        table.close(commit=False)
        item["outcome"] = "flagged"
        with transaction.atomic():
            record(
                actor=actor,
                action="policies.retention.flag",
                target=asset,
                details={"policy_id": policy.pk, "expired_rows": len(keys), "retention_run_id": run.pk},
            )
        return item
    try:
        with transaction.atomic():
            record(
                actor=actor,
                action="policies.retention.delete_rows",
                target=asset,
                details={
                    "policy_id": policy.pk,
                    "retention_run_id": run.pk,
                    "rows_before": int(len(frame)),
                    "rows_affected": len(keys),
                    "cutoff": cutoff.isoformat(),
                    "date_column": policy.config["date_column"],
                    "rows_digest": _row_digest(keys),
                },
            )
            deleted = table.delete(keys)
            if deleted != len(keys):
                raise ValidationError("the table changed during the run")
            table.close(commit=True)  # last step: if it fails, the event rolls back
    except Exception as exc:  # noqa: BLE001
        with contextlib.suppress(Exception):  # already closed after a failed commit
            table.close(commit=False)
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    item["outcome"] = "done"
    return item


# --- evaluation ---------------------------------------------------------------------------------


def _upsert_findings(*, hits, asset: DataAsset | None, model_version: ModelVersion | None, actor: Any) -> dict[str, int]:
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


def policy_evaluate(*, actor: Any, asset: DataAsset | None = None, model_version: ModelVersion | None = None) -> dict[str, int]:
    """Re-evaluate one asset or model version against every enabled rule; open, refresh and resolve
    its findings. Audited as ``policies.evaluate`` with the counts whenever a finding changed."""
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


def evaluate_all(*, actor: Any) -> dict[str, int]:
    """Evaluate every live asset and every model version."""
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


def _evaluate_assets_async(asset_ids: Iterable[int]) -> None:
    from compliance.policies import tasks

    for asset_id in sorted(set(asset_ids)):
        tasks.policy_evaluate_asset.delay(asset_id)


def _after_commit_evaluate_policy(policy: Policy, also: Iterable[int] = ()) -> None:
    assets = set(policy.assets.values_list("pk", flat=True)) | set(also)
    if assets and not policy.domains.exists() and not policy.entity_types:
        transaction.on_commit(lambda: _evaluate_assets_async(assets))
    else:
        _after_commit_evaluate_all()


def _after_commit_evaluate_all() -> None:
    from compliance.policies import tasks

    transaction.on_commit(lambda: tasks.policy_evaluate_all.delay())


def _retention_blocked(item: dict, *, actor: Any, asset: Any, policy: Any, held: list, expired_rows: int, run: Any) -> None:
    """A legal hold stopped a destructive retention action: say so in the report and the ledger."""
    item.update({"outcome": "blocked_by_legal_hold", "legal_hold_ids": held})
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.retention.blocked",
            target=asset,
            reason="legal hold",
            details={"policy_id": policy.pk, "legal_hold_ids": held, "expired_rows": expired_rows, "retention_run_id": run.pk},
        )
