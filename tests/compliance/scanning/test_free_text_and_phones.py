"""Issue 13, failure classes 1 and 2, with the real Presidio engine on a small corpus built here.

1. Pattern hits in free text must not depend on NER: a cell with no capitalised word mid-sentence
   (``member called from 415-555-0100, ssn ... on file``) keeps its phone, SSN and e-mail hits.
2. Phone numbers as people write them: extensions, bare 10 digits, dotted, E.164, national European
   formats; a column half e-mail half phone is both. Hard negatives stay clean.

The corpus is generated here with its own seeds and templates (not the bench's tables); every
phone number is valid for its country (libphonenumber), as real numbers are.
"""

from __future__ import annotations

import random

import pandas as pd
import phonenumbers
import pytest

from compliance.scanning.analysis import analyze_column
from compliance.scanning.scanner import scan_dataframe

AREAS = [201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 602, 617, 702, 713, 718, 804, 919]


def us_digits(rng: random.Random) -> str:
    return f"{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def us_formatted(rng: random.Random, style: str) -> str:
    d = us_digits(rng)
    a, e, n = d[:3], d[3:6], d[6:]
    ext = str(rng.randint(1, 99999))[: rng.randint(1, 5)]
    return {
        "dotted_ext": f"{a}.{e}.{n}x{ext}",
        "paren_ext": f"({a}){e}-{n}x{ext}",
        "intl_ext": f"+1-{a}-{e}-{n}x{ext}",
        "word_ext": f"{a}-{e}-{n} ext. {ext}",
        "dotted": f"{a}.{e}.{n}",
        "e164": f"+1{d}",
        "bare": d,
        "dashed": f"{a}-{e}-{n}",
    }[style]


def eu_number(rng: random.Random, region: str, fmt: phonenumbers.PhoneNumberFormat) -> str:
    """A valid number of ``region`` (mobile or fixed line), formatted nationally or internationally."""
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    national = phonenumbers.national_significant_number(example)  # keeps Italy's leading 0
    for _ in range(10_000):
        keep = max(2, len(national) - 5)
        candidate = national[:keep] + "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, fmt)
    raise RuntimeError(f"no valid {region} number generated")


def _types(df: pd.DataFrame, *, hints: bool = True) -> dict[str, set[str]]:
    return {c.name: c.entity_types for c in scan_dataframe(df, sample_size=400, seed=5, column_hints=hints).columns}


# --- class 1: pattern hits in free text ------------------------------------------------------------

LOWER_TEMPLATES = [
    "member called from {phone}, ssn {ssn} on file, reply to {email}.",
    "left a message at {phone} about the invoice; confirm by email to {email} please",
    "caller gave ssn {ssn} and asked us to ring back on {phone} after 5pm",
    "new address on file, send the forms to {email}, phone {phone}",
    "verified identity with social security number {ssn}; wants paper statements",
    "customer says the number {phone} is no longer in service, use {email} instead",
]


def _ssn(rng: random.Random) -> str:
    return f"{rng.randint(100, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def lower_case_notes(rng: random.Random, n: int) -> tuple[list[str], list[set[str]]]:
    """Running text with no capitalised word at all, and the types planted in each cell."""
    notes, planted = [], []
    for i in range(n):
        template = LOWER_TEMPLATES[i % len(LOWER_TEMPLATES)]
        values = {"phone": us_formatted(rng, rng.choice(["dashed", "dotted"])), "ssn": _ssn(rng), "email": f"user{i}@example.com"}
        notes.append(template.format(**values))
        planted.append(
            {
                t
                for key, t in (("phone", "PHONE_NUMBER"), ("ssn", "US_SSN"), ("email", "EMAIL_ADDRESS"))
                if "{" + key + "}" in template
            }
        )
    return notes, planted


def test_pattern_hits_in_lower_case_free_text_are_kept_in_every_cell(engine):
    notes, planted = lower_case_notes(random.Random(101), 60)
    mode, analysed = analyze_column(notes, "text")
    assert mode == "text"
    for note, want in zip(notes, planted, strict=True):
        got = {h[0] for h in analysed[note]["h"]}
        assert want <= got, (want - got, len(note))


def test_a_lower_case_notes_column_is_reported_with_its_three_pattern_types(engine):
    notes, _ = lower_case_notes(random.Random(102), 80)
    df = pd.DataFrame({"ticket": [f"T{i:05d}" for i in range(80)], "remarks": notes})
    found = _types(df)
    assert found["remarks"] == {"PHONE_NUMBER", "US_SSN", "EMAIL_ADDRESS"}
    assert found["ticket"] == set()
    assert _types(df.rename(columns={"remarks": "f01"}), hints=False)["f01"] == {"PHONE_NUMBER", "US_SSN", "EMAIL_ADDRESS"}


def test_the_same_notes_with_a_name_added_keep_the_pattern_types_and_add_person(engine):
    notes, _ = lower_case_notes(random.Random(103), 80)
    names = ["Marta Olsen", "John Smith", "Priya Natarajan", "Carlos Mendoza", "Aiko Tanaka"]
    notes = [f"{n} Spoke with {names[i % len(names)]} today." for i, n in enumerate(notes)]
    found = _types(pd.DataFrame({"remarks": notes}))["remarks"]
    assert {"PHONE_NUMBER", "US_SSN", "EMAIL_ADDRESS", "PERSON"} <= found


def test_free_text_without_personal_data_stays_clean_even_with_numbers(engine):
    rng = random.Random(104)
    texts = [
        f"shipped {rng.randint(2, 40)} boxes of {rng.randint(6, 48)} items, total {rng.randint(10, 900)}.{rng.randint(0, 99):02d} usd, "
        f"batch {rng.randint(10**6, 10**7 - 1)} passed inspection on line {rng.randint(1, 9)}"
        for _ in range(80)
    ]
    assert _types(pd.DataFrame({"remarks": texts}))["remarks"] == set()


# --- class 2: phone formats --------------------------------------------------------------------------

US_STYLES = ["dotted_ext", "paren_ext", "intl_ext", "word_ext", "dotted", "e164"]
EU_REGIONS = ["GB", "DE", "FR", "ES", "IT", "NL", "PL", "BE", "AT", "SE"]


@pytest.mark.parametrize("style", US_STYLES)
def test_us_phone_formats_are_phone_numbers_with_and_without_a_telling_name(engine, style):
    rng = random.Random(style)
    values = [us_formatted(rng, style) for _ in range(120)]
    df = pd.DataFrame({"phone": values, "c7": values})
    assert _types(df)["phone"] == {"PHONE_NUMBER"}
    assert _types(df[["c7"]], hints=False)["c7"] == {"PHONE_NUMBER"}


@pytest.mark.parametrize("region", EU_REGIONS)
@pytest.mark.parametrize("fmt", ["NATIONAL", "INTERNATIONAL", "E164"])
def test_european_numbers_are_phone_numbers_in_national_and_international_formats(engine, region, fmt):
    rng = random.Random(f"{region}{fmt}")
    values = [eu_number(rng, region, getattr(phonenumbers.PhoneNumberFormat, fmt)) for _ in range(80)]
    assert _types(pd.DataFrame({"c3": values}), hints=False)["c3"] == {"PHONE_NUMBER"}, values[:3]


def test_bare_ten_digit_numbers_are_phones_under_a_phone_name_and_when_nearly_all_are_valid(engine):
    rng = random.Random(105)
    values = [us_digits(rng) for _ in range(200)]
    assert _types(pd.DataFrame({"mobile": values}))["mobile"] == {"PHONE_NUMBER"}
    assert _types(pd.DataFrame({"f09": values}), hints=False)["f09"] == {"PHONE_NUMBER"}


def test_half_email_half_phone_is_both(engine):
    rng = random.Random(106)
    styles = ["dotted_ext", "paren_ext", "intl_ext", "dotted", "e164", "bare"]
    values = [f"person{i}@example.org" if i % 2 else us_formatted(rng, styles[(i // 2) % len(styles)]) for i in range(200)]
    for name, hints in (("contact", True), ("x4", False)):
        assert _types(pd.DataFrame({name: values}), hints=hints)[name] == {"EMAIL_ADDRESS", "PHONE_NUMBER"}, name


def test_digit_hard_negatives_are_not_phone_numbers(engine):
    rng = random.Random(107)
    n = 200
    df = pd.DataFrame(
        {
            "order_number": [str(rng.randint(10**9, 10**10 - 1)) for _ in range(n)],
            "f11": [str(rng.randint(10**9, 10**10 - 1)) for _ in range(n)],
            "epoch_seconds": [str(rng.randint(1_600_000_000, 1_790_000_000)) for _ in range(n)],
            "resolution": [rng.choice(["1920x1080", "3840x2160", "1280x720", "2560x1440"]) for _ in range(n)],
            "part": [f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}x{rng.randint(1, 9)}" for _ in range(n)],
            "version": [f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}" for _ in range(n)],
            "amount": [f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}" for _ in range(n)],
        }
    )
    for hints in (True, False):
        found = _types(df, hints=hints)
        assert all("PHONE_NUMBER" not in types for types in found.values()), found
