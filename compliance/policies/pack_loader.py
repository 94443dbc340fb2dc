"""Load a regulation pack document (``packs/*.json``) into the pack tables.

Used by the data migration with historical models and by ``services.pack_install`` with the real
ones, so it takes the three model classes as arguments. Idempotent: re-loading a pack updates
it in place, keeps organisation overrides of rules (``overridden``) and removes rules and
categories the new version dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PACK_DIR = Path(__file__).resolve().parent / "packs"
BUILTIN_PACKS = ("gdpr", "hipaa", "ccpa")
REQUIRED = ("code", "name", "version", "categories", "rules")


class PackError(ValueError):
    """The pack document is malformed."""


def read_pack(code: str) -> dict[str, Any]:
    return json.loads((PACK_DIR / f"{code}.json").read_text())


def validate_document(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise PackError("a pack is a JSON object")
    missing = [key for key in REQUIRED if key not in doc]
    if missing:
        raise PackError(f"pack is missing {', '.join(missing)}")
    for category in doc["categories"]:
        if not {"code", "name", "citation", "entity_types"} <= set(category):
            raise PackError("each category needs code, name, citation and entity_types")
    for rule in doc["rules"]:
        if not {"code", "title", "citation", "severity", "check"} <= set(rule):
            raise PackError("each rule needs code, title, citation, severity and check")
        if not str(rule["code"]).startswith(doc["code"] + "."):
            raise PackError(f"rule codes must start with the pack code ({doc['code']}.)")


def load_document(doc: dict[str, Any], *, Pack, Category, Rule, builtin: bool) -> Any:  # noqa: N803 - model classes
    validate_document(doc)
    pack, _ = Pack.objects.update_or_create(
        code=doc["code"],
        defaults={
            "name": doc["name"],
            "version": doc["version"],
            "jurisdiction": doc.get("jurisdiction", ""),
            "citation": doc.get("citation", ""),
            "description": doc.get("description", ""),
            "builtin": builtin,
            "content": doc,
        },
    )
    codes = []
    for category in doc["categories"]:
        codes.append(category["code"])
        Category.objects.update_or_create(
            pack=pack,
            code=category["code"],
            defaults={
                "name": category["name"],
                "citation": category["citation"],
                "entity_types": list(category["entity_types"]),
                "sensitive": bool(category.get("sensitive", False)),
            },
        )
    Category.objects.filter(pack=pack).exclude(code__in=codes).delete()
    rule_codes = []
    for rule in doc["rules"]:
        rule_codes.append(rule["code"])
        values = {
            "title": rule["title"],
            "citation": rule["citation"],
            "severity": rule["severity"],
            "check_name": rule["check"],
            "params": rule.get("params", {}),
            "fix": rule.get("fix", ""),
        }
        existing = Rule.objects.filter(code=rule["code"]).first()
        if existing is None:
            Rule.objects.create(pack=pack, code=rule["code"], original=values, **values)
        elif existing.overridden:
            # Keep the organisation's override; refresh only what it did not change.
            existing.original = values
            for field in ("title", "citation", "check_name", "fix"):
                setattr(existing, field, values[field])
            existing.save()
        else:
            for field, value in values.items():
                setattr(existing, field, value)
            existing.original = values
            existing.pack = pack
            existing.save()
    Rule.objects.filter(pack=pack).exclude(code__in=rule_codes).delete()
    return pack


def load_builtin(apps=None) -> None:
    """Load the built-in packs (data migration entry point when ``apps`` is given)."""
    if apps is None:
        from compliance.policies.models import RegulationCategory, RegulationPack, RegulationRule
    else:
        RegulationPack = apps.get_model("policies", "RegulationPack")  # noqa: N806
        RegulationCategory = apps.get_model("policies", "RegulationCategory")  # noqa: N806
        RegulationRule = apps.get_model("policies", "RegulationRule")  # noqa: N806
    for code in BUILTIN_PACKS:
        load_document(read_pack(code), Pack=RegulationPack, Category=RegulationCategory, Rule=RegulationRule, builtin=True)
