"""From cell results to column findings: merging chunk results, and the decision rules.

A column's *share* of an entity type is the fraction of its sampled non-null cells in which the
type was found (in a structured column the match must cover the whole cell; in free text anywhere).
Each type has a rule (:data:`RULES`):

* ``validated`` types (checksums or unambiguous syntax: e-mail, card with Luhn, IBAN, NPI, NHS,
  DEA number, IP, URL) are present when their share reaches ``share``; checksum types whose
  checksum passes by chance on random digits (Luhn, mod 11: ~10%) need a high share.
* ``weak`` types (bare digit runs: bank account, passport, driver's licence, 5-digit ZIP, MRN,
  unformatted phone or SSN) count only with the *name hint*: the column name carries one of the
  type's context words (Presidio's context words, curated). Content still decides: the share must
  reach ``hinted``.
* NER types (PERSON, LOCATION, NRP) need a majority of cells in structured columns (a lower share
  with the hint), and a minimum share in free text.
* DATE_TIME is reported for dates tied to a person: a date column whose name says so (birth,
  admission, ...) or whose years look like birth years (median age over 15, spread over decades).

Confidence = 0.5 * mean recognizer score of the hits (raised like Presidio's context enhancement,
+0.35 and at least 0.4, when the name hint was used) + 0.5 * min(1, share / min(1, 2 * bar)).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from compliance.scanning.detect import special

HINTS: dict[str, tuple[str, ...]] = {
    "PERSON": (
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "givenname",
        "familyname",
        "middlename",
        "forename",
        "patient",
        "customer",
        "employee",
        "person",
        "contact",
        "author",
        "physician",
        "doctor",
        "nurse",
        "member",
        "client",
        "applicant",
        "holder",
        "guardian",
        "spouse",
        "beneficiary",
        "insured",
        "subscriber",
        "first",
        "last",
    ),
    "EMAIL_ADDRESS": ("email", "mail", "emailaddress"),
    "PHONE_NUMBER": ("phone", "tel", "telephone", "mobile", "cell", "cellphone", "fax", "msisdn", "phonenumber"),
    "US_SSN": ("ssn", "socialsecurity", "social", "sin"),
    "CREDIT_CARD": ("card", "cc", "credit", "creditcard", "pan", "cardnumber"),
    "IBAN_CODE": ("iban",),
    "IP_ADDRESS": ("ip", "ipaddress", "ipv4", "ipv6", "clientip", "remoteaddr"),
    "URL": ("url", "website", "homepage", "link", "uri", "web"),
    "LOCATION": (
        "address",
        "street",
        "city",
        "town",
        "country",
        "state",
        "region",
        "county",
        "location",
        "residence",
        "addr",
        "birthplace",
        "province",
        "municipality",
        "hometown",
        "streetaddress",
    ),
    "DATE_TIME": (
        "birth",
        "dob",
        "born",
        "birthday",
        "birthdate",
        "death",
        "died",
        "deceased",
        "admission",
        "admitted",
        "admit",
        "discharge",
        "discharged",
        "visit",
        "appointment",
        "hired",
        "hire",
        "encounter",
        "diagnosis",
        "diagnosed",
    ),
    "US_DRIVER_LICENSE": ("license", "licence", "dl", "driver", "drivers", "driving", "dln"),
    "US_PASSPORT": ("passport",),
    "US_BANK_NUMBER": ("account", "acct", "bank", "bankaccount", "checking", "savings"),
    "MEDICAL_LICENSE": ("dea", "medicallicense", "deanumber"),
    "NRP": ("nationality", "religion", "ethnicity", "citizenship", "political", "party", "race", "ethnic", "faith"),
    "UK_NHS": ("nhs", "nhsnumber"),
    "US_ZIP_CODE": ("zip", "zipcode", "postal", "postcode", "postalcode"),
    "MEDICAL_RECORD_NUMBER": ("mrn", "medicalrecord", "chart", "medicalrecordnumber", "record"),
    "US_NPI": ("npi", "provider", "providerid"),
    "ES_NIF": ("nif", "dni", "nifnumber"),
    "ES_NIE": ("nie", "nienumber"),
    "IT_FISCAL_CODE": ("codicefiscale", "fiscalcode", "cf", "codfisc"),
    "PL_PESEL": ("pesel",),
    "FI_PERSONAL_IDENTITY_CODE": ("hetu", "henkilotunnus", "personalidentitycode", "sotu"),
    "DE_TAX_ID": ("steuerid", "taxid", "idnr", "steueridentifikationsnummer", "tin", "steuernummer"),
    "UK_NINO": ("nino", "nationalinsurance", "ninumber", "nationalinsurancenumber"),
}

# Tokens that cancel a PERSON hint: the name is a thing's, not a person's.
NOT_PERSON = {"product", "company", "item", "brand", "vendor", "org", "organisation", "organization", "file", "host",
              "table", "category", "sku", "app", "project", "team", "store", "shop", "model", "device", "server", "dept",
              "department", "street", "city", "country", "domain", "campaign", "event", "school", "hospital", "plan"}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    share: float | None  # share needed without the name hint (None: never without it)
    hinted: float  # share needed with the name hint
    min_score: float = 0.0  # hits below this score are "weak" and count only with the hint
    text_share: float | None = 0.02  # share needed in a free-text column (None: not reported from text)


RULES: dict[str, Rule] = {
    "EMAIL_ADDRESS": Rule(0.1, 0.05, 0.5),
    "URL": Rule(0.3, 0.2, 0.5),
    "IP_ADDRESS": Rule(0.3, 0.2, 0.5),
    "PHONE_NUMBER": Rule(0.1, 0.3, 0.4),
    "CREDIT_CARD": Rule(0.5, 0.3, 0.9),
    "IBAN_CODE": Rule(0.2, 0.1, 0.9),
    "US_SSN": Rule(0.5, 0.5, 0.5),
    "UK_NHS": Rule(0.85, 0.5, 0.9, None),
    "US_NPI": Rule(0.85, 0.5, 0.9, None),
    "MEDICAL_LICENSE": Rule(0.5, 0.3, 0.9, None),
    "MEDICAL_RECORD_NUMBER": Rule(0.5, 0.8, 0.8),
    "US_ZIP_CODE": Rule(0.5, 0.8, 0.5, None),
    "US_BANK_NUMBER": Rule(None, 0.8, 0.0, None),
    "US_PASSPORT": Rule(None, 0.8, 0.0, None),
    "US_DRIVER_LICENSE": Rule(None, 0.8, 0.0, None),
    "PERSON": Rule(0.5, 0.3, 0.0, 0.15),
    "LOCATION": Rule(0.5, 0.25, 0.0, 0.15),
    "NRP": Rule(0.5, 0.3, 0.0, 0.1),
    "DATE_TIME": Rule(None, 0.8, 0.0, None),
    # European national identifiers: validated ones decide a column; the 11-digit ones (PESEL,
    # Steuer-IdNr) pass their check digits on ~10% of random numbers, like NHS numbers
    "ES_NIF": Rule(0.5, 0.3, 0.9),
    "ES_NIE": Rule(0.5, 0.3, 0.9),
    "IT_FISCAL_CODE": Rule(0.5, 0.3, 0.9),
    "FI_PERSONAL_IDENTITY_CODE": Rule(0.5, 0.3, 0.9),
    "PL_PESEL": Rule(0.85, 0.5, 0.9, None),
    "DE_TAX_ID": Rule(0.85, 0.5, 0.9, None),
    "UK_NINO": Rule(0.5, 0.3, 0.5),
    # GDPR Art. 9 special categories (suggestions; see detect.special)
    "RACE_ETHNICITY": Rule(0.5, 0.2, 0.5, None),
    "RELIGION": Rule(0.5, 0.2, 0.5, None),
    "SEXUAL_ORIENTATION": Rule(0.5, 0.2, 0.5, None),
    "TRADE_UNION": Rule(0.5, 0.2, 0.5, None),
    "POLITICAL_OPINION": Rule(0.5, 0.2, 0.5, None),
    "HEALTH_DATA": Rule(0.6, 0.3, 0.5, 0.3),
    "GENETIC": Rule(0.8, 0.3, 0.5, None),
}


# Share of valid bare NANP numbers that makes an unnamed digit column a phone column.
BARE_PHONE_SHARE = 0.9


def name_tokens(name: str) -> set[str]:
    """Lower-case tokens of a column name plus adjacent-pair joins: ``patientFirstName`` ->
    {patient, first, name, patientfirst, firstname}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if p]
    tokens = set(parts)
    tokens.update(a + b for a, b in zip(parts, parts[1:], strict=False))
    tokens.update(a + b + c for a, b, c in zip(parts, parts[1:], parts[2:], strict=False))
    return tokens


def hinted_types(name: str) -> set[str]:
    tokens = name_tokens(name)
    found = {etype for etype, words in HINTS.items() if tokens & set(words)}
    found |= special.name_categories(tokens)
    if "PERSON" in found and tokens & NOT_PERSON:
        found.discard("PERSON")
    if "name" in tokens and not tokens & NOT_PERSON and len(tokens) == 1:
        found.add("PERSON")  # a column called just "name": content must still agree
    if "record" in tokens and "medical" not in tokens and "mrn" not in tokens:
        found.discard("MEDICAL_RECORD_NUMBER")
    return found


# --- merging -----------------------------------------------------------------------------------


def merge_chunks(chunks: list[dict[str, Any]], *, k: int) -> dict[str, Any]:
    """Merge chunk results: counts add up, a column's sample is the k smallest keys over all chunks;
    columns come in the source's order (a chunk's ``order``, kept because jsonb reorders keys)."""
    merged: dict[str, Any] = {"rows": 0, "columns": {}}
    modes: dict[str, dict[str, int]] = {}
    profiles: dict[str, list[dict[str, float]]] = {}
    # A chunk whose sample stops short of its non-null cells covers keys only up to its largest
    # sampled key; beyond the smallest such bound the union would over-represent other chunks.
    bounds: dict[str, int] = {}
    for chunk in chunks:
        for name, col in chunk["columns"].items():
            if col["samples"] and not col.get("complete", False):
                top = max(s[0] for s in col["samples"])
                bounds[name] = min(bounds.get(name, top), top)
    for chunk in chunks:
        merged["rows"] += chunk["rows"]
        for name, col in chunk["columns"].items():
            target = merged["columns"].setdefault(
                name, {"dtype": col["dtype"], "kind": col["kind"], "nonnull": 0, "mode": "skip", "samples": []}
            )
            target["nonnull"] += col["nonnull"]
            target["samples"].extend(col["samples"])
            if col.get("profile"):
                profiles.setdefault(name, []).append(col["profile"])
            if col["mode"] != "skip":
                modes.setdefault(name, {}).setdefault(col["mode"], 0)
                modes[name][col["mode"]] += col["nonnull"]
                if target["kind"] in ("float", "bool", "binary") or target["mode"] == "skip":
                    target["kind"] = col["kind"]
    order = next((c["order"] for c in chunks if c.get("order")), [])
    rank = {name: i for i, name in enumerate(order)}
    merged["columns"] = dict(sorted(merged["columns"].items(), key=lambda item: rank.get(item[0], len(rank))))
    for name, target in merged["columns"].items():
        if name in bounds:
            target["samples"] = [s for s in target["samples"] if s[0] <= bounds[name]]
        target["samples"].sort(key=lambda s: s[0])
        del target["samples"][k:]
        if name in modes:
            target["mode"] = max(modes[name].items(), key=lambda item: item[1])[0]
        if name in profiles:
            target["profile"] = _merge_profiles(profiles[name], chunks_with=len([c for c in chunks if name in c["columns"]]))
    return merged


def _merge_profiles(profiles: list[dict[str, float]], *, chunks_with: int) -> dict[str, float]:
    """Weighted means by sampled cells; a chunk without a profile means the column did not fit it."""
    if len(profiles) < chunks_with:
        return {}
    total = sum(p.get("n", 0) for p in profiles) or 1
    keys = {k for p in profiles for k in p if k != "n"}
    merged = {k: round(sum(p.get(k, 0) * p.get("n", 0) for p in profiles) / total, 4) for k in keys}
    merged["n"] = total
    return merged


# --- deciding ----------------------------------------------------------------------------------


def _birthlike(years: list[int]) -> bool:
    if len(years) < 5:
        return False
    now = datetime.now(UTC).year
    ages = [now - y for y in years]
    spread = statistics.pstdev(years)
    return statistics.median(ages) >= 15 and spread >= 8 and max(ages) <= 125


_YEAR_FLAG = re.compile(r"y(\d{4})")


def is_clear(name: str, column: dict[str, Any], *, column_hints: bool = True) -> bool:
    """Whether a partial sample already settles the column: the same types are decided with every
    bar raised by half and lowered by 40%. If not, the caller analyses the rest of the sample."""
    tally = _tally(name, column, column_hints)  # counted once, decided at both scales
    high = {f["type"] for f in _decide(column, tally, scale=1.5)}
    low = {f["type"] for f in _decide(column, tally, scale=0.6)}
    return high == low


def decide_column(name: str, column: dict[str, Any], *, column_hints: bool = True, scale: float = 1.0) -> list[dict[str, Any]]:
    """The entity findings of one merged column, strongest first. ``scale`` multiplies every bar."""
    return _decide(column, _tally(name, column, column_hints), scale=scale)


def _tally(name: str, column: dict[str, Any], column_hints: bool) -> tuple | None:
    """What :func:`_decide` counts over a column's samples (None: nothing to decide); it does not
    depend on the bars, so one tally serves every ``scale``."""
    samples = column["samples"]
    n = len(samples)
    if not n or column["mode"] == "skip":
        return None
    text = column["mode"] == "text"
    hints = hinted_types(name) if column_hints else set()
    strong: dict[str, int] = {}
    any_hit: dict[str, int] = {}
    scores: dict[str, list[float]] = {}
    recognizers: dict[str, set[str]] = {}
    signals: dict[str, dict[str, int]] = {}
    nameish = gazetteer_full = first_named = 0
    years: list[int] = []
    # in a place column (by its name), what NER calls a person is an unfamiliar place ("East Marisa")
    place_column = not text and "LOCATION" in hints and "PERSON" not in hints
    for _key, hits, flags in samples:
        if "g" in flags:
            gazetteer_full += 1
        if "f" in flags:
            first_named += 1
        if "n" in flags:
            nameish += 1
        year = _YEAR_FLAG.search(flags) if "y" in flags else None
        if year:
            years.append(int(year.group(1)))
        seen_strong: set[str] = set()
        seen_any: set[str] = set()
        seen_signal: set[tuple[str, str]] = set()
        for entity, recognizer, score, whole in hits:
            if not text and not whole:
                continue
            if place_column and entity == "PERSON" and recognizer == "SpacyRecognizer":
                entity = "LOCATION"
            rule = RULES.get(entity)
            if rule is None:
                continue
            seen_any.add(entity)
            scores.setdefault(entity, []).append(score)
            recognizers.setdefault(entity, set()).add(recognizer)
            if (entity, recognizer) not in seen_signal:
                seen_signal.add((entity, recognizer))
                signals.setdefault(entity, {}).setdefault(recognizer, 0)
                signals[entity][recognizer] += 1
            if score >= rule.min_score:
                seen_strong.add(entity)
        for entity in seen_strong:
            strong[entity] = strong.get(entity, 0) + 1
        for entity in seen_any:
            any_hit[entity] = any_hit.get(entity, 0) + 1
    return (n, text, hints, strong, any_hit, scores, recognizers, signals, nameish, gazetteer_full, first_named, years)


def _decide(column: dict[str, Any], tally: tuple | None, *, scale: float) -> list[dict[str, Any]]:
    if tally is None:
        return []
    n, text, hints, strong, any_hit, scores, recognizers, signals, nameish, gazetteer_full, first_named, years = tally
    findings = []
    for entity, rule in RULES.items():
        if entity not in any_hit:
            continue
        hinted = entity in hints
        share_strong = strong.get(entity, 0) / n
        share_any = any_hit[entity] / n
        used_hint = False
        if text:
            bar = rule.text_share * scale if rule.text_share is not None else None
            ok = bar is not None and share_strong >= bar and strong.get(entity, 0) >= 2
            share = share_strong
            if not ok and hinted and bar is not None and share_any >= bar / 2 and any_hit[entity] >= 2:
                ok, used_hint, share = True, True, share_any
        else:
            share_bar = min(1.0, rule.share * scale) if rule.share is not None else None
            hinted_bar = min(1.0, rule.hinted * scale)
            ok = share_bar is not None and share_strong >= share_bar
            share, bar = share_strong, share_bar or 1.0
            if not ok and hinted and share_any >= hinted_bar:
                ok, used_hint, share, bar = True, True, share_any, hinted_bar
            if entity == "DATE_TIME":
                ok = share_any >= hinted_bar and (hinted or _birthlike(years))
                used_hint, share, bar = hinted, share_any, hinted_bar
            if entity == "PHONE_NUMBER" and not ok and not hinted and share_any >= min(1.0, BARE_PHONE_SHARE * scale):
                # bare NANP digit runs ("2125550147", weak hits) without a phone-like column name:
                # nearly every cell must be a valid number (random 10-digit ids are ~40%)
                ok, share, bar = True, share_any, min(1.0, BARE_PHONE_SHARE * scale)
            if entity == "RACE_ETHNICITY" and not ok and share_strong >= 0.2 * scale and share_any >= min(1.0, 0.8 * scale):
                # "White", "Asian", "Other" beside unambiguous answers ("Black or African American", ...)
                ok, share, bar = True, share_any, min(1.0, 0.8 * scale)
            if entity == "PERSON" and not ok and hinted and nameish >= min(1.0, 0.9 * scale) * n and share_any >= 0.15 * scale:
                ok, used_hint, share, bar = True, True, share_any, 0.15 * scale  # single given names / surnames
        if not ok:
            continue
        mean_score = statistics.fmean(scores[entity]) if scores.get(entity) else 0.5
        if used_hint:  # Presidio's context enhancement: +0.35, at least 0.4
            mean_score = max(mean_score + 0.35, 0.4)
        clearance = min(1.0, share / min(1.0, 2 * max(bar or 0.01, 0.01))) if bar else 1.0
        confidence = min(1.0, 0.5 * min(1.0, mean_score) + 0.5 * clearance)
        findings.append(
            {
                "type": entity,
                "confidence": round(confidence, 3),
                "share": round(share, 4),
                "recognizers": sorted(recognizers.get(entity, ())),
                "name_hint_used": used_hint,
                # which signal fired: sampled cells per recognizer (and the name hint, above)
                "evidence": {"cells": n, "signals": dict(sorted(signals.get(entity, {}).items()))},
            }
        )
    findings = _resolve_conflicts(findings, text)
    _cite_articles(findings)
    if not text:
        findings = _values_over_name(findings, signals, n, gazetteer_full, first_named, hints, column.get("profile") or {})
    findings.sort(key=lambda f: (-f["share"], -f["confidence"], f["type"]))
    return findings


def _cite_articles(findings: list[dict[str, Any]]) -> None:
    for f in findings:
        category = special.CATEGORIES.get(f["type"])
        if category is not None:
            f["evidence"].update(
                article=category.article,
                category=category.label,
                suggested_from="name and values" if f["name_hint_used"] else "values",
            )


def special_from_name(name: str, column: dict[str, Any], found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Art. 9 categories the column name suggests that the values did not confirm (a boolean
    ``is_union_member``, a ``fingerprint_template`` blob, coded answers): suggested from the name
    alone, with low confidence, for a steward to confirm. Empty columns suggest nothing."""
    if not column.get("nonnull"):
        return []
    have = {f["type"] for f in found}
    out = []
    for entity in sorted(special.name_categories(name_tokens(name)) - have):
        category = special.CATEGORIES[entity]
        out.append(
            {
                "type": entity,
                "confidence": 0.4,
                "share": 0.0,
                "recognizers": [],
                "name_hint_used": True,
                "evidence": {"cells": len(column.get("samples", [])), "signals": {}, "article": category.article,
                             "category": category.label, "suggested_from": "name"},
            }
        )  # fmt: skip
    return out


def _values_over_name(
    findings: list[dict[str, Any]],
    signals: dict[str, dict[str, int]],
    n: int,
    gazetteer_full: int,
    first_named: int,
    hints: set[str],
    profile: dict[str, float],
) -> list[dict[str, Any]]:
    """Value evidence beats the column-name hint (issue 13 class 3).

    * PERSON that stands on the name hint, in a column whose values the census gazetteer does not
      support (few census full names, multi-word values that rarely start with a census first name)
      and that NER calls people in a minority of cells (``name`` holding ``Aldridge Espresso
      Grinder``), is dropped; so is PERSON in a column of multi-word values that reuse a small
      vocabulary (``diversity`` below 0.2: a catalogue, not people) unless most are census full names;
    * a column that is places by its values (a majority) or by its name is not also PERSON unless most
      of its values are census full names.
    """
    by_type = {f["type"]: f for f in findings}
    person = by_type.get("PERSON")
    if person is None:
        return findings
    person_signals = signals.get("PERSON", {})
    gazetteer = person_signals.get("NameGazetteerRecognizer", 0) / n
    ner = person_signals.get("SpacyRecognizer", 0) / n
    drop = False
    multiword_unnamed = first_named / n < 0.1
    # a small reused vocabulary says catalogue, unless most values are census full names: a roster of
    # staff or patients whose names recombine few first and last names is still people
    catalogue = profile.get("diversity", 1.0) < 0.2 and gazetteer_full / n < 0.5
    if catalogue or (person["name_hint_used"] and gazetteer < 0.1 and (ner < 0.3 or (ner < 0.5 and multiword_unnamed))):
        drop = True
        for f in findings:
            if f["type"] == "PERSON":
                f["evidence"]["overruled"] = "values: few census names, NER rarely PERSON"
    location = by_type.get("LOCATION")
    placed = location is not None and (location["share"] >= person["share"] or "LOCATION" in hints)
    if placed and (location["share"] >= 0.5 or "LOCATION" in hints) and gazetteer_full / n < 0.5:
        drop = True
    return [f for f in findings if not (drop and f["type"] == "PERSON")]


def decide_table(
    columns: dict[str, dict[str, Any]], decided: dict[str, list[dict[str, Any]]], *, column_hints: bool = True
) -> None:
    """Table-level evidence (issue 13 classes 3 and 5), added to ``decided`` in place: a column of
    postcodes -- 5-digit numbers that do not fill their range like row ids do -- beside a
    street-address or city column is US_ZIP_CODE whatever it is called (unless its name says it is
    something else); beside European street addresses, or holding European postcode shapes
    (``1397 PF``, ``D02 X285``), it is LOCATION (a postcode, not a US ZIP code)."""
    place_signals: dict[str, int] = {}
    for name, found in decided.items():
        if columns[name]["mode"] != "structured":
            continue
        for f in found:
            if f["type"] == "LOCATION":
                for recognizer, cells in f.get("evidence", {}).get("signals", {}).items():
                    place_signals[recognizer] = place_signals.get(recognizer, 0) + cells
    # a street address or a city beside it (a country code alone says too little)
    if not set(place_signals) & {"StreetAddressRecognizer", "EuStreetAddressRecognizer", "PlaceShapeRecognizer",
                                 "PlaceGazetteerRecognizer", "SpacyRecognizer"}:  # fmt: skip
        return
    european = place_signals.get("EuStreetAddressRecognizer", 0) > place_signals.get("StreetAddressRecognizer", 0)
    for name, column in columns.items():
        profile = column.get("profile") or {}
        postcode = profile.get("postcode", profile.get("zip5", 0))
        if column["mode"] != "structured" or postcode < 0.9 or profile.get("density", 1) > 0.2:
            continue
        if profile.get("n", 0) < 20 or any(f["type"] in _EXCLUSIVE or f["type"] == "LOCATION" for f in decided.get(name, [])):
            continue
        hints = hinted_types(name) if column_hints else set()
        if hints - {"US_ZIP_CODE", "LOCATION"}:
            continue
        if column["kind"] == "int" and not hints:
            continue  # integers of up to 5 digits are counts and amounts as often as ZIPs that lost a zero
        us = profile.get("zip5", 0) >= 0.9 and not european
        decided.setdefault(name, []).append(
            {
                "type": "US_ZIP_CODE" if us else "LOCATION",
                "confidence": 0.6,
                "share": profile["zip5"] if us else postcode,
                "recognizers": ["UsZipCodeRecognizer"] if us else ["PostcodeShape"],
                "name_hint_used": bool(hints),
                "evidence": {"cells": int(profile["n"]), "signals": {"UsZipCodeRecognizer" if us else "PostcodeShape": int(profile["n"] * postcode)},
                             "table_context": "a street-address or place column in the same table",
                             "density": profile["density"]},
            }
        )  # fmt: skip


# Digit-only types that can describe the same cells; the structured column keeps the best-supported.
_EXCLUSIVE = {"US_SSN", "US_PASSPORT", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "MEDICAL_RECORD_NUMBER", "US_ZIP_CODE",
              "PHONE_NUMBER", "UK_NHS", "US_NPI", "CREDIT_CARD", "MEDICAL_LICENSE", "PL_PESEL", "DE_TAX_ID"}  # fmt: skip


def _resolve_conflicts(findings: list[dict[str, Any]], text: bool) -> list[dict[str, Any]]:
    """In a structured column the same digits cannot be both a passport and a bank account: among
    overlapping identifier types keep those hinted by the name, else the one with the highest share."""
    if text:
        return findings
    ids = [f for f in findings if f["type"] in _EXCLUSIVE]
    if len(ids) <= 1:
        return findings
    hinted = [f for f in ids if f["name_hint_used"]]
    validated = [f for f in ids if not f["name_hint_used"]]
    keep = set()
    if validated:
        best = max(validated, key=lambda f: (f["share"], f["confidence"]))
        keep.add(best["type"])
        # mixed columns (a contact column of phones and e-mails) keep secondary types with a real share
        keep.update(f["type"] for f in validated if f["share"] >= 0.2 and f["share"] + best["share"] <= 1.05)
    if hinted and not validated:
        keep.add(max(hinted, key=lambda f: (f["share"], f["confidence"]))["type"])
    return [f for f in findings if f["type"] not in _EXCLUSIVE or f["type"] in keep]
