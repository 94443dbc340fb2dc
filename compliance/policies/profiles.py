"""Built-in anonymization profiles and how columns are matched to entity types.

A profile maps entity types to operator specs (``operators.py``), names the quasi-identifiers the
k-anonymity report groups by, and says what to do with free text. A policy of kind
``anonymization`` may start from a profile (``"profile": "hipaa-safe-harbor"``) and override per
entity type or per column.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from compliance.scanning.engine import EU_NATIONAL_IDS  # the scanner's European national identifiers

REDACT = {"operator": "redact"}

HIPAA_SAFE_HARBOR: dict[str, Any] = {
    "name": "hipaa-safe-harbor",
    "regulation": "hipaa",
    "citation": "45 CFR 164.514(b)(2)",
    "description": "Removes the 18 Safe Harbor identifiers: names, geography below state (ZIP to 3 digits or 000), "
    "dates to year (ages over 89 and their birth years to 90+), contact numbers, ids and free-text mentions. "
    "Re-identification codes are random surrogates (164.514(c)), never hashes of the identifier.",
    "entity_types": {
        "PERSON": {"operator": "replace", "value": "<PERSON>"},
        "STREET_ADDRESS": REDACT,
        "LOCATION": REDACT,
        "GEOLOCATION": REDACT,
        "US_ZIP_CODE": {"operator": "generalize", "method": "zip3"},
        "DATE_OF_BIRTH": {"operator": "generalize", "method": "year", "birth": True},
        "DATE_TIME": {"operator": "generalize", "method": "year", "age_indicative": True},
        "AGE": {"operator": "generalize", "method": "age_cap"},
        "PHONE_NUMBER": REDACT,
        "FAX_NUMBER": REDACT,
        "EMAIL_ADDRESS": REDACT,
        "US_SSN": REDACT,
        "MEDICAL_RECORD_NUMBER": {"operator": "surrogate", "namespace": "subject", "prefix": "rec_"},
        "UK_NHS": REDACT,
        "HEALTH_PLAN_NUMBER": REDACT,
        "ACCOUNT_NUMBER": REDACT,
        "US_BANK_NUMBER": REDACT,
        "CREDIT_CARD": REDACT,
        "IBAN_CODE": REDACT,
        "LICENSE_NUMBER": REDACT,
        "US_DRIVER_LICENSE": REDACT,
        "US_PASSPORT": REDACT,
        "MEDICAL_LICENSE": REDACT,
        "VEHICLE_ID": REDACT,
        "DEVICE_ID": REDACT,
        "URL": REDACT,
        "IP_ADDRESS": REDACT,
        "BIOMETRIC": {"operator": "suppress"},
        "PHOTO": {"operator": "suppress"},
        "US_NPI": REDACT,
        "UNIQUE_ID": {"operator": "surrogate", "prefix": "id_"},
        # European national identification numbers: "any other unique identifying number" (R)
        **dict.fromkeys(EU_NATIONAL_IDS, REDACT),
    },
    "free_text": {"operator": "scrub"},
    "quasi_identifiers": ["US_ZIP_CODE", "DATE_OF_BIRTH", "AGE", "GENDER", "RACE_ETHNICITY"],
    "k": 5,
}

GDPR_PSEUDONYMIZE: dict[str, Any] = {
    "name": "gdpr-pseudonymize",
    "regulation": "gdpr",
    "citation": "GDPR Art. 4(5); Art. 25(1); Art. 32(1)(a)",
    "description": "Pseudonymisation: direct identifiers become keyed HMAC tokens (joinable across tables) or, for "
    "contact details, AES-SIV ciphertexts an authorised user can reverse; addresses are removed, dates shifted "
    "per subject (intervals kept), free text scrubbed. The output is still personal data (Recital 26).",
    "entity_types": {
        "PERSON": {"operator": "hmac"},
        "EMAIL_ADDRESS": {"operator": "encrypt_siv"},
        "PHONE_NUMBER": {"operator": "encrypt_siv"},
        "FAX_NUMBER": {"operator": "encrypt_siv"},
        "STREET_ADDRESS": REDACT,
        "US_ZIP_CODE": {"operator": "generalize", "method": "zip3"},
        "US_SSN": {"operator": "hmac"},
        "UK_NHS": {"operator": "hmac"},
        "MEDICAL_RECORD_NUMBER": {"operator": "hmac"},
        "HEALTH_PLAN_NUMBER": {"operator": "hmac"},
        "ACCOUNT_NUMBER": {"operator": "hmac"},
        "US_BANK_NUMBER": {"operator": "hmac"},
        "CREDIT_CARD": {"operator": "hmac"},
        "IBAN_CODE": {"operator": "hmac"},
        "LICENSE_NUMBER": {"operator": "hmac"},
        "US_DRIVER_LICENSE": {"operator": "hmac"},
        "US_PASSPORT": {"operator": "hmac"},
        "VEHICLE_ID": {"operator": "hmac"},
        "DEVICE_ID": {"operator": "hmac"},
        "IP_ADDRESS": {"operator": "hmac"},
        "URL": REDACT,
        "UNIQUE_ID": {"operator": "hmac"},
        **{entity: {"operator": "hmac"} for entity in EU_NATIONAL_IDS},  # national identification numbers
        "DATE_OF_BIRTH": {"operator": "date_shift", "subject_column": "$subject", "max_days": 180},
        "DATE_TIME": {"operator": "date_shift", "subject_column": "$subject", "max_days": 180},
        "BIOMETRIC": {"operator": "suppress"},
        "PHOTO": {"operator": "suppress"},
    },
    "fallback": {
        "DATE_OF_BIRTH": {"operator": "generalize", "method": "year"},
        "DATE_TIME": {"operator": "generalize", "method": "year"},
    },
    "free_text": {"operator": "scrub"},
    "quasi_identifiers": ["US_ZIP_CODE", "DATE_OF_BIRTH", "AGE", "GENDER", "RACE_ETHNICITY", "LOCATION"],
    "k": 5,
}

BUILTIN_PROFILES = {p["name"]: p for p in (HIPAA_SAFE_HARBOR, GDPR_PSEUDONYMIZE)}

# Entity types a profile leaves in place and that are not identifiers (still quasi-identifiers).
NON_IDENTIFYING = frozenset({"GENDER", "RACE_ETHNICITY", "NRP", "HEALTH_DATA", "DIAGNOSIS", "STATE"})

# Column-name hints, in order (first match wins). They are a floor: the scan adds what names miss.
NAME_HINTS: list[tuple[str | None, re.Pattern[str]]] = [
    (None, re.compile(r"^(state|state_code|country|country_code|region|province)$")),  # state level: allowed
    ("IP_ADDRESS", re.compile(r"(^|_)ip(_?addr(ess)?)?($|_)")),
    ("EMAIL_ADDRESS", re.compile(r"e_?mail")),
    ("DATE_OF_BIRTH", re.compile(r"(^|_)(dob|birth_?date|date_?of_?birth|birthday|birth_?year)($|_)")),
    ("US_SSN", re.compile(r"(^|_)(ssn|social_?security)")),
    ("MEDICAL_RECORD_NUMBER", re.compile(r"(^|_)(mrn|medical_?record)")),
    ("HEALTH_PLAN_NUMBER", re.compile(r"(insurance|member_?id|health_?plan|beneficiary|policy_?number)")),
    ("FAX_NUMBER", re.compile(r"(^|_)fax")),
    ("PHONE_NUMBER", re.compile(r"(phone|mobile|(^|_)tel($|_)|(^|_)cell($|_))")),
    ("US_ZIP_CODE", re.compile(r"(zip|post_?code|postal)")),
    ("STREET_ADDRESS", re.compile(r"(street|address|(^|_)addr($|_))")),
    ("LOCATION", re.compile(r"(^|_)(city|county|town|precinct|municipality|village)($|_)")),
    ("URL", re.compile(r"(url|website|homepage)")),
    ("CREDIT_CARD", re.compile(r"(credit_?card|card_?number|(^|_)ccn($|_)|(^|_)pan($|_))")),
    ("IBAN_CODE", re.compile(r"iban")),
    ("ACCOUNT_NUMBER", re.compile(r"(account_?(no|num|number|id)|bank_?account)")),
    ("US_NPI", re.compile(r"(^|_)npi($|_)")),
    ("LICENSE_NUMBER", re.compile(r"(licen[cs]e|certificate_?(no|number|id))")),
    ("VEHICLE_ID", re.compile(r"(vehicle|plate_?(no|number)|(^|_)vin($|_))")),
    ("DEVICE_ID", re.compile(r"(device|serial_?(no|number)|imei|mac_?address)")),
    (
        "PERSON",
        re.compile(r"^((first|last|full|given|family|middle|maiden|patient|customer|contact|guardian|sur)_?)?name$|^author$"),
    ),
    ("AGE", re.compile(r"^(age|age_?years|patient_?age)$")),
    ("GENDER", re.compile(r"^(sex|gender)$")),
    ("RACE_ETHNICITY", re.compile(r"(ethnic|(^|_)race($|_))")),
    ("DATE_TIME", re.compile(r"(date|(^|_)(at|on|time|timestamp|ts|dod|dt)$|admit|discharg|death|collected|signup)")),
    ("UNIQUE_ID", re.compile(r"(^|_)(id|uuid|guid)$")),
]
FREE_TEXT_HINT = re.compile(r"(note|comment|narrative|description|summary|message|(^|_)text($|_)|(^|_)body($|_))")


def name_hint(column: str) -> tuple[bool, str | None]:
    """(matched, entity type) from a column name; (True, None) means "known not to identify"."""
    lowered = column.strip().lower().replace(" ", "_").replace("-", "_")
    for entity, pattern in NAME_HINTS:
        if pattern.search(lowered):
            return True, entity
    return False, None


class ProfileError(ValueError):
    """Unknown profile name."""


def resolve(config: dict[str, Any]) -> dict[str, Any]:
    """A full profile from an anonymization config: an optional built-in ``profile`` plus overrides
    (``entity_types``, ``columns``, ``free_text``, ``free_text_columns``, ``quasi_identifiers``, ``k``,
    ``k_enforce``, ``subject_column``)."""
    base_name = config.get("profile")
    if base_name:
        if base_name not in BUILTIN_PROFILES:
            raise ProfileError(f"unknown profile {base_name!r}; built in: {', '.join(sorted(BUILTIN_PROFILES))}")
        profile = copy.deepcopy(BUILTIN_PROFILES[base_name])
    else:
        profile = {"name": "custom", "entity_types": {}, "free_text": {"operator": "scrub"}, "quasi_identifiers": [], "k": 5}
    profile["entity_types"].update(config.get("entity_types", {}))
    profile["columns"] = dict(config.get("columns", {}))
    for key in ("free_text", "free_text_columns", "quasi_identifiers", "k", "k_enforce", "subject_column"):
        if key in config:
            profile[key] = config[key]
    return profile
