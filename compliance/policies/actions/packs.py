"""Regulation packs and rules: install an organisation's pack, enable/disable, override a rule.

Each needs ``decide``, writes and audits in one transaction, and queues a re-evaluation of the
estate after commit.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import DECIDE, require
from audit.services import record
from compliance.policies import pack_loader
from compliance.policies.actions.evaluate import after_commit_evaluate_all
from compliance.policies.models import RegulationCategory, RegulationPack, RegulationRule
from core.types import Actor


def pack_install(*, document: dict[str, Any], actor: Actor | str) -> RegulationPack:
    """Add (or update) an organisation's own pack. Built-in packs cannot be replaced this way."""
    require(actor, DECIDE, "regulation packs")
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
    after_commit_evaluate_all()
    return pack


def pack_set_enabled(*, pack: RegulationPack, enabled: bool, actor: Actor | str, reason: str = "") -> RegulationPack:
    require(actor, DECIDE, "regulation packs")
    with transaction.atomic():
        pack.enabled = enabled
        pack.full_clean()
        pack.save()
        record(actor=actor, action="policies.pack.enable" if enabled else "policies.pack.disable", target=pack, reason=reason)
    after_commit_evaluate_all()
    return pack


def rule_override(
    *,
    rule: RegulationRule,
    actor: Actor | str,
    reason: str,
    severity: str | None = None,
    enabled: bool | None = None,
    params: dict[str, Any] | None = None,
) -> RegulationRule:
    """Override a pack rule's severity, parameters or enabled flag; the pack's values stay in ``original``."""
    require(actor, DECIDE, "regulation rules")
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
    after_commit_evaluate_all()
    return rule


def rule_override_clear(*, rule: RegulationRule, actor: Actor | str, reason: str = "") -> RegulationRule:
    require(actor, DECIDE, "regulation rules")
    with transaction.atomic():
        for name in ("severity", "params"):
            if name in rule.original:
                setattr(rule, name, rule.original[name])
        rule.enabled, rule.overridden, rule.override_reason = True, False, ""
        rule.full_clean()
        rule.save()
        record(actor=actor, action="policies.rule.override_clear", target=rule, reason=reason, details={"code": rule.code})
    after_commit_evaluate_all()
    return rule
