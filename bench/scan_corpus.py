"""A second labelled corpus for the PII scanner (issue 13, failure classes 1 and 2), seeded.

    .venv/bin/python bench/scan_corpus.py [--seed 13] [--rows 1500] [--out var/bench/scan_corpus]

Writes three tables (CSV, Parquet, JSON lines) and ``labels.json`` in the format of
``bench/data/scan`` (table -> column -> entity types), plus ``cells.json``: for each free-text
column, per row, the types planted in that cell (PERSON, PHONE_NUMBER, EMAIL_ADDRESS, US_SSN), so
``bench/scan_accuracy.py`` can measure cell-level recall inside free text.

What it covers, with other templates and seeds than the committed evaluation set:
* free text with pattern identifiers and no capitalised word (class 1), mixed with capitalised
  sentences that name people, and free text with numbers that are not personal data;
* phone numbers as people write them (class 2): extensions (``212.555.0147x123``,
  ``(212)555-0147x45``, ``+1-212-555-0147x9``, ``ext. 12``), bare 10 digits, dotted, E.164,
  national and international formats of ten European countries (valid for their country, as
  real numbers are), a column half e-mail half phone, a sparse one;
* hard negatives: 10-digit account numbers, epoch seconds, screen resolutions, part numbers with an
  ``x``, versions, amounts, a ``channel`` column whose values are the word "phone".

No real personal data: names from Faker, e-mail domains ``example.*``, numbers generated.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pandas as pd
import phonenumbers
from faker import Faker

REPO = Path(__file__).resolve().parent.parent
AREAS = [201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 602, 617, 702, 713, 718, 804, 919, 973]
EU = ["GB", "DE", "FR", "ES", "IT", "NL", "PL", "BE", "AT", "SE"]
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL"]


def us_digits(rng: random.Random) -> str:
    return f"{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def us_phone(rng: random.Random, style: str | None = None) -> str:
    d = us_digits(rng)
    a, e, n = d[:3], d[3:6], d[6:]
    ext = str(rng.randint(1, 99999))[: rng.randint(1, 5)]
    style = style or rng.choice(["dotted_ext", "paren_ext", "intl_ext", "word_ext", "dotted", "e164", "dashed", "paren"])
    return {
        "dotted_ext": f"{a}.{e}.{n}x{ext}",
        "paren_ext": f"({a}){e}-{n}x{ext}",
        "intl_ext": f"+1-{a}-{e}-{n}x{ext}",
        "word_ext": f"{a}-{e}-{n} ext. {ext}",
        "dotted": f"{a}.{e}.{n}",
        "e164": f"+1{d}",
        "dashed": f"{a}-{e}-{n}",
        "paren": f"({a}) {e}-{n}",
        "bare": d,
    }[style]


def eu_phone(rng: random.Random, region: str, fmt: phonenumbers.PhoneNumberFormat) -> str:
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    national = phonenumbers.national_significant_number(phonenumbers.example_number_for_type(region, kind))
    for _ in range(10_000):
        keep = max(2, len(national) - 5)
        candidate = national[:keep] + "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, fmt)
    raise RuntimeError(f"no valid {region} number generated")


def ssn(rng: random.Random) -> str:
    return f"{rng.randint(100, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


# free-text templates: (template, capitalised?) -- {name} {phone} {email} {ssn}
LOWER = [
    "member called from {phone}, ssn {ssn} on file, reply to {email}.",
    "left a message at {phone} about the invoice; confirm by email to {email} please",
    "caller gave ssn {ssn} and asked us to ring back on {phone} after 5pm",
    "send the forms to {email}; says the old number {phone} is disconnected",
    "verified identity with social security number {ssn}, wants paper statements",
    "customer asked to be reached at {email} rather than by phone",
    "please call {phone} before delivery, gate code changes weekly",
    "duplicate account merged, kept {email} as the login",
]
NAMED = [
    "Left voicemail for {name} at {phone}.",
    "{name} reports the card was charged twice; refund sent to {email}.",
    "Spoke with {name}, who confirmed SSN {ssn} and asked for a callback.",
    "Escalated to {name} after the customer wrote from {email}.",
    "{name} will call back on {phone} tomorrow morning.",
    "Per {name}, the package was left with a neighbour.",
]
NEUTRAL = [
    "shipped {a} boxes of {b} items, total {c}.{d:02d} usd, batch {e} passed inspection on line {f}",
    "router firmware updated to {f}.{a}.{b}; throughput back to {c} mbps after the reboot",
    "refund of {c}.{d:02d} approved under policy section {f}.{a}, ticket closed",
    "warehouse moved {e} units between bins {a} and {b} during the night shift",
    "the printer on floor {f} jams on duplex jobs above {c} pages",
]
TYPES = {"name": "PERSON", "phone": "PHONE_NUMBER", "email": "EMAIL_ADDRESS", "ssn": "US_SSN"}


def note(rng: random.Random, fake: Faker, i: int, mix: tuple[float, float]) -> tuple[str, list[str]]:
    """One free-text cell and the types planted in it; ``mix`` = (share lower-case, share named)."""
    roll = rng.random()
    if roll < mix[0]:
        template = rng.choice(LOWER)
    elif roll < mix[0] + mix[1]:
        template = rng.choice(NAMED)
    else:
        template = rng.choice(NEUTRAL)
        return template.format(
            a=rng.randint(2, 40),
            b=rng.randint(6, 48),
            c=rng.randint(10, 900),
            d=rng.randint(0, 99),
            e=rng.randint(10**6, 10**7 - 1),
            f=rng.randint(1, 9),
        ), []
    values = {
        "name": fake.name(),
        "phone": us_phone(rng)
        if rng.random() < 0.7
        else eu_phone(rng, rng.choice(EU), phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "email": f"{fake.user_name()}{i}@example.{rng.choice(['com', 'org', 'net'])}",
        "ssn": ssn(rng),
    }
    planted = sorted(t for key, t in TYPES.items() if "{" + key + "}" in template)
    return template.format(**values), planted


def build(seed: int, rows: int) -> tuple[dict[str, pd.DataFrame], dict, dict]:
    rng = random.Random(seed)
    fakes = [Faker(loc) for loc in LOCALES]
    for j, f in enumerate(fakes):
        f.seed_instance(seed + j)
    fake = fakes[0]
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, dict[str, list[str]]] = {}
    cells: dict[str, dict[str, list[list[str]]]] = {}

    # 1. support tickets: free text (class 1) and US phones with extensions (class 2)
    body, body_cells, resolution = [], [], []
    for i in range(rows):
        text, planted = note(rng, rng.choice(fakes), i, (0.45, 0.25))
        body.append(text)
        body_cells.append(planted)
        resolution.append(note(rng, fake, i, (0.0, 0.0))[0])
    tables["support_tickets.csv"] = pd.DataFrame(
        {
            "ticket_id": [f"T-{seed % 97:02d}{i:06d}" for i in range(rows)],
            "opened_at": pd.date_range("2026-01-01", periods=rows, freq="37min").strftime("%Y-%m-%d %H:%M:%S"),
            "channel": [rng.choice(["phone", "email", "chat", "web form"]) for _ in range(rows)],
            "agent": [rng.choice(fakes).name() for _ in range(rows)],
            "body": body,
            "resolution_notes": resolution,
            "callback": [us_phone(rng) for _ in range(rows)],
        }
    )
    labels["support_tickets.csv"] = {
        "ticket_id": [],
        "opened_at": [],
        "channel": [],
        "agent": ["PERSON"],
        "body": ["EMAIL_ADDRESS", "PERSON", "PHONE_NUMBER", "US_SSN"],
        "resolution_notes": [],
        "callback": ["PHONE_NUMBER"],
    }
    cells["support_tickets.csv"] = {"body": body_cells}

    # 2. European contacts: national and international formats, a half e-mail half phone column
    n = rows * 4 // 5
    regions = [rng.choice(EU) for _ in range(n)]
    tables["eu_contacts.parquet"] = pd.DataFrame(
        {
            "contact_id": [f"C{seed:03d}{i:05d}" for i in range(n)],
            "full_name": [fakes[1 + i % (len(fakes) - 1)].name() for i in range(n)],
            "mobile": [eu_phone(rng, r, phonenumbers.PhoneNumberFormat.NATIONAL) for r in regions],
            "landline_intl": [
                eu_phone(rng, r, rng.choice([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]))
                for r in regions
            ],
            "preferred_contact": [
                f"{fake.user_name()}{i}@example.eu" if i % 2 else eu_phone(rng, r, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                for i, r in enumerate(regions)
            ],
            "country_code": regions,
            "vat_rate": [rng.choice([0.19, 0.2, 0.21, 0.22, 0.23, 0.25]) for _ in range(n)],
            "loyalty_points": [rng.randint(0, 50_000) for _ in range(n)],
        }
    )
    labels["eu_contacts.parquet"] = {
        "contact_id": [],
        "full_name": ["PERSON"],
        "mobile": ["PHONE_NUMBER"],
        "landline_intl": ["PHONE_NUMBER"],
        "preferred_contact": ["EMAIL_ADDRESS", "PHONE_NUMBER"],
        "country_code": [],
        "vat_rate": [],
        "loyalty_points": [],
    }

    # 3. US accounts: bare digits, extensions, lower-case memos, digit hard negatives
    memo, memo_cells, sparse, sparse_cells = [], [], [], []
    for i in range(rows):
        text, planted = note(rng, fake, i, (0.8, 0.0))
        memo.append(text)
        memo_cells.append(planted)
        if rng.random() < 0.06:
            text, planted = note(rng, fake, i, (1.0, 0.0))
            sparse.append(text)
            sparse_cells.append(planted)
        else:
            sparse.append(None)
            sparse_cells.append([])
    tables["us_accounts.jsonl"] = pd.DataFrame(
        {
            "account_no": [str(rng.randint(10**9, 10**10 - 1)) for _ in range(rows)],
            "phone_bare": [us_digits(rng) for _ in range(rows)],
            "alt_phone": [us_phone(rng, rng.choice(["dotted_ext", "intl_ext", "e164"])) for _ in range(rows)],
            "fax": [us_phone(rng, "paren_ext") for _ in range(rows)],
            "created_epoch": [str(rng.randint(1_600_000_000, 1_790_000_000)) for _ in range(rows)],
            "screen": [rng.choice(["1920x1080", "3840x2160", "1280x720", "2560x1440", "1366x768"]) for _ in range(rows)],
            "part_number": [f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}x{rng.randint(1, 9)}" for _ in range(rows)],
            "app_version": [f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}" for _ in range(rows)],
            "balance": [f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}" for _ in range(rows)],
            "memo": memo,
            "escalation_memo": sparse,
        }
    )
    labels["us_accounts.jsonl"] = {
        "account_no": [],
        "phone_bare": ["PHONE_NUMBER"],
        "alt_phone": ["PHONE_NUMBER"],
        "fax": ["PHONE_NUMBER"],
        "created_epoch": [],
        "screen": [],
        "part_number": [],
        "app_version": [],
        "balance": [],
        "memo": ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"],
        "escalation_memo": ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"],
    }
    cells["us_accounts.jsonl"] = {"memo": memo_cells, "escalation_memo": sparse_cells}
    return tables, labels, cells


def write(tables: dict[str, pd.DataFrame], labels: dict, cells: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = out / name
        if name.endswith(".parquet"):
            df.to_parquet(path, index=False)
        elif name.endswith(".jsonl"):
            df.to_json(path, orient="records", lines=True, force_ascii=False)
        else:
            df.to_csv(path, index=False)
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True))
    (out / "cells.json").write_text(json.dumps(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench" / "scan_corpus")
    args = parser.parse_args()
    tables, labels, cells = build(args.seed, args.rows)
    write(tables, labels, cells, args.out)
    pairs = sum(len(t) for cols in labels.values() for t in cols.values())
    print(f"wrote {len(tables)} tables, {sum(len(c) for c in labels.values())} columns, {pairs} labelled pairs to {args.out}")


if __name__ == "__main__":
    main()
