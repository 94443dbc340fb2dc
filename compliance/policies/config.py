"""Validation of ``Policy.config`` per kind. Messages name the field, never a data value.

retention::

    {"max_age_days": 365, "date_column": "created_at" | null, "action": "delete_rows" | "anonymize_rows"
     | "archive" | "flag", "profile": "hipaa-safe-harbor"}      # profile: for anonymize_rows

anonymization (see profiles.resolve)::

    {"profile": "gdpr-pseudonymize", "entity_types": {"PERSON": {"operator": "hmac"}},
     "columns": {"notes": {"operator": "scrub"}}, "quasi_identifiers": ["zip"], "k": 5}

access::

    {"rules": [{"roles": ["viewer"], "purposes": ["marketing"], "sensitivities": ["confidential"],
                "entity_types": ["HEALTH_DATA"], "categories": ["gdpr:art9-health"],
                "effect": "deny", "reason": "..."}]}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from accounts.choices import Role
from catalog.choices import Sensitivity
from compliance.policies import operators
from compliance.policies.choices import Effect, PolicyKind, Purpose, RetentionAction
from compliance.policies.profiles import BUILTIN_PROFILES

RULE_KEYS = {"roles", "purposes", "sensitivities", "entity_types", "categories", "effect", "reason"}


def _fail(message: str) -> None:
    raise ValidationError({"config": message})


def validate_policy_config(kind: str, config: Any) -> None:
    if not isinstance(config, dict):
        _fail("must be a JSON object")
    if kind == PolicyKind.RETENTION:
        unknown = set(config) - {"max_age_days", "date_column", "action", "profile"}
        if unknown:
            _fail(f"unknown key(s): {', '.join(sorted(unknown))}")
        days = config.get("max_age_days")
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            _fail("max_age_days must be a positive integer")
        if config.get("action") not in RetentionAction.values:
            _fail(f"action must be one of {', '.join(RetentionAction.values)}")
        if config.get("date_column") is not None and not isinstance(config.get("date_column"), str):
            _fail("date_column must be a column name or null (asset age)")
        if (
            config["action"] == RetentionAction.ANONYMIZE_ROWS
            and config.get("profile", "hipaa-safe-harbor") not in BUILTIN_PROFILES
        ):
            _fail("profile must name a built-in anonymization profile")
        if config["action"] in (
            RetentionAction.DELETE_ROWS,
            RetentionAction.ANONYMIZE_ROWS,
            RetentionAction.ARCHIVE,
        ) and not config.get("date_column"):
            _fail("row actions need date_column (asset-age policies can only flag)")
    elif kind == PolicyKind.ANONYMIZATION:
        unknown = set(config) - {
            "profile",
            "entity_types",
            "columns",
            "free_text",
            "free_text_columns",
            "quasi_identifiers",
            "k",
            "k_enforce",
            "subject_column",
        }
        if unknown:
            _fail(f"unknown key(s): {', '.join(sorted(unknown))}")
        if "profile" in config and config["profile"] not in BUILTIN_PROFILES:
            _fail(f"profile must be one of {', '.join(sorted(BUILTIN_PROFILES))}")
        try:
            for key in ("entity_types", "columns"):
                for spec in (config.get(key) or {}).values():
                    operators.validate_spec(spec)
            if "free_text" in config:
                operators.validate_spec(config["free_text"])
        except operators.OperatorError as exc:
            _fail(str(exc))
        if not config.get("profile") and not config.get("entity_types") and not config.get("columns"):
            _fail("give a profile, entity_types or columns")
    elif kind == PolicyKind.ACCESS:
        rules = config.get("rules")
        if not isinstance(rules, list) or not rules:
            _fail("rules must be a non-empty list")
        for rule in rules:
            if not isinstance(rule, dict):
                _fail("each rule is an object")
            unknown = set(rule) - RULE_KEYS
            if unknown:
                _fail(f"unknown rule key(s): {', '.join(sorted(unknown))}")
            if rule.get("effect") not in Effect.values:
                _fail(f"effect must be one of {', '.join(Effect.values)}")
            for key, allowed in (("roles", Role.values), ("purposes", Purpose.values), ("sensitivities", Sensitivity.values)):
                values = rule.get(key, [])
                if not isinstance(values, list) or any(v not in allowed for v in values):
                    _fail(f"{key} must be a list drawn from {', '.join(allowed)}")
    else:
        _fail("unknown policy kind")
