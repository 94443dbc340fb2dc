"""A second labelled corpus for the PII scanner (issue 13, failure classes 1 to 6), seeded.

    .venv/bin/python bench/scan_corpus.py [--seed 13] [--rows 1500] [--out bench/data/scan_corpus]

Writes six tables (CSV, Parquet, JSON lines) and ``labels.json`` in the format of
``bench/data/scan`` (table -> column -> entity types), plus ``cells.json``: for each free-text
column, per row, the types planted in that cell (PERSON, PHONE_NUMBER, EMAIL_ADDRESS, US_SSN), so
``bench/scan_accuracy.py`` can measure cell-level recall inside free text. The output with the
default seed and rows is committed in ``bench/data/scan_corpus`` (synthetic only).

What it covers, with other templates and seeds than the committed evaluation set and the tests:
* free text with pattern identifiers and no capitalised word (class 1), mixed with capitalised
  sentences that name people, and free text with numbers that are not personal data;
* phone numbers as people write them (class 2): extensions (``212.555.0147x123``,
  ``(212)555-0147x45``, ``+1-212-555-0147x9``, ``ext. 12``), bare 10 digits, dotted, E.164,
  national and international formats of ten European countries (valid for their country, as
  real numbers are), a column half e-mail half phone, a sparse one;
* hard negatives: 10-digit account numbers, epoch seconds, screen resolutions, part numbers with an
  ``x``, versions, amounts, a ``channel`` column whose values are the word "phone";
* value evidence against the column name (class 3): ``name`` holding brand + product names, city
  names and 5-digit ZIP codes under meaningless names beside an address column, sequential 5-digit
  ids and stock counts beside it, invented place names in a place column, colours;
* names in free text (class 4): clinic notes naming the row's own patient (full name, surname
  alone, lower case) and staff with titles, in eight Faker locales;
* European data (class 5): ES NIF/NIE, IT codice fiscale, PL PESEL, FI HETU, DE Steuer-IdNr (check
  digits computed here), UK NINO, street addresses and postcodes of seven countries, ISO country codes;
* GDPR Art. 9 special categories (class 6): ethnicity, religion, sexual orientation, ICD-10 codes,
  genotypes, trade-union membership and allergies (the last two only their column names can tell).

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
DEFAULT_OUT = REPO / "bench" / "data" / "scan_corpus"
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
        "country_code": ["LOCATION"],
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

    add_catalogue(rng, fakes, rows, tables, labels)
    add_clinic(rng, fakes, rows, tables, labels, cells)
    add_eu_people(rng, seed, rows, tables, labels)
    return tables, labels, cells


# --- class 3: value evidence over the column name ----------------------------------------------------

BRANDS = ["Hollis", "Brandt", "Carver", "Ashby", "Mercer", "Langley", "Prescott", "Whitlock", "Garrison", "Thornton"]
PRODUCTS = ["Stand Mixer", "Pour-over Kettle", "Label Maker", "Desk Fan", "Laser Level", "Jump Starter", "Heat Gun",
            "Steam Iron", "Trail Camera", "Tire Inflator", "Router Table", "Bench Grinder", "Food Processor", "Hand Blender"]  # fmt: skip
SYLLABLES = ["vel", "mor", "quen", "by", "har", "row", "os", "trand", "brin", "dle", "cal", "lo", "wen", "dar", "ish", "ast"]
PLACE_PREFIX = ["Port", "East", "West", "North", "South", "Lake", "New", "Fort", "Mount"]
PLACE_SUFFIX = ["ville", "ton", "burgh", "field", "mouth", "haven", "borough", "ford", "chester"]


def invented_place(rng: random.Random) -> str:
    stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    if rng.random() < 0.5:
        return f"{rng.choice(PLACE_PREFIX)} {stem}"
    return stem + rng.choice(PLACE_SUFFIX)


def add_catalogue(rng: random.Random, fakes: list, rows: int, tables: dict, labels: dict) -> None:
    n = rows * 2 // 3
    us = fakes[0]
    tables["catalogue.csv"] = pd.DataFrame(
        {
            "name": [f"{rng.choice(BRANDS)} {rng.choice(PRODUCTS)}" for _ in range(n)],
            "c3": [rng.choice(fakes[:2]).city() for _ in range(n)],
            "warehouse_address": [us.street_address() for _ in range(n)],
            "c5": [us.zipcode() for _ in range(n)],
            "sku_no": [str(20_000 + i) for i in range(n)],
            "ship_to_city": [invented_place(rng) for _ in range(n)],
            "finish": [rng.choice(["White", "Black", "Brown", "Green", "Gray", "Silver", "Rose"]) for _ in range(n)],
            "stock_qty": [rng.randint(0, 99_999) for _ in range(n)],
        }
    )
    labels["catalogue.csv"] = {
        "name": [],
        "c3": ["LOCATION"],
        "warehouse_address": ["LOCATION"],
        "c5": ["US_ZIP_CODE"],
        "sku_no": [],
        "ship_to_city": ["LOCATION"],
        "finish": [],
        "stock_qty": [],
    }


# --- classes 4 and 6: a clinic's patients, free-text notes, special categories -----------------------

NOTE_TEMPLATES = [
    # (template, planted types): {full} the row's patient, {last} their surname, {first} their first
    # name, {staff} a clinician's name after a title, {phone}, {email}, {ssn}
    ("Phoned {full} re: lab results, left message at {phone}.", ["PERSON", "PHONE_NUMBER"]),
    ("pt {last_lower} seen for follow-up; reports migraine easing on current dose", ["PERSON"]),
    ("{full} arrived late, vitals taken by {staff}.", ["PERSON"]),
    ("Reviewed by {staff}: {first} to continue physiotherapy twice weekly.", ["PERSON"]),
    ("results emailed to {email} at the request of {full_lower}", ["EMAIL_ADDRESS", "PERSON"]),
    ("insurance verified, ssn {ssn} on file, copay collected", ["US_SSN"]),
    ("{last} complains of a persistent cough; chest x-ray booked.", ["PERSON"]),
    ("no show for the 9:30 slot, rebooked online", []),
    ("Referred to cardiology; discussed diet and exercise with {full}.", ["PERSON"]),
]
ETHNICITY = ["White", "Black or African American", "Asian", "Hispanic or Latino", "Two or More Races",
             "American Indian or Alaska Native", "Native Hawaiian or Other Pacific Islander", "Other"]  # fmt: skip
FAITHS = ["Catholic", "Protestant", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "No religion", "Orthodox"]
ORIENTATIONS = ["Heterosexual", "Gay", "Lesbian", "Bisexual", "Asexual", "Queer"]
ICD10 = ["E11.9", "I10", "J45.909", "M54.5", "F32.1", "K21.0", "N39.0", "E78.5", "J06.9", "L40.0", "G43.909"]
ALLERGIES = ["penicillin", "peanuts", "latex", "none known", "shellfish", "pollen", "sulfa drugs"]


def add_clinic(rng: random.Random, fakes: list, rows: int, tables: dict, labels: dict, cells: dict) -> None:
    n = rows
    full, notes, planted = [], [], []
    for i in range(n):
        fake = rng.choice(fakes)
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        staff_fake = rng.choice(fakes)
        staff = f"{rng.choice(['Dr.', 'Dr', 'Nurse', 'Mrs.', 'Mr.'])} {staff_fake.last_name()}"
        template, types = rng.choice(NOTE_TEMPLATES)
        full.append(name)
        notes.append(
            template.format(
                full=name, full_lower=name.lower(), last=last, last_lower=last.lower(), first=first, staff=staff,
                phone=us_phone(rng), email=f"{fake.user_name()}{i}@example.org", ssn=ssn(rng),
            )
        )  # fmt: skip
        planted.append(sorted(types))
    tables["clinic.parquet"] = pd.DataFrame(
        {
            "visit_id": [100_000 + i for i in range(n)],
            "patient_full_name": full,
            "visit_note": notes,
            "ethnicity": [rng.choice(ETHNICITY) for _ in range(n)],
            "faith": [rng.choice(FAITHS) for _ in range(n)],
            "sexual_orientation": [rng.choice(ORIENTATIONS) for _ in range(n)],
            "icd10": [rng.choice(ICD10) for _ in range(n)],
            "genotype_rs429358": [rng.choice(["TT", "CT", "CC"]) for _ in range(n)],
            "allergies": [rng.choice(ALLERGIES) for _ in range(n)],
            "union_member": [rng.random() < 0.25 for _ in range(n)],
            "copay": [round(rng.uniform(5, 60), 2) for _ in range(n)],
        }
    )
    labels["clinic.parquet"] = {
        "visit_id": [],
        "patient_full_name": ["PERSON"],
        "visit_note": ["EMAIL_ADDRESS", "HEALTH_DATA", "PERSON", "PHONE_NUMBER", "US_SSN"],
        "ethnicity": ["RACE_ETHNICITY"],  # census race answers: not a nationality, religion or party (NRP)
        "faith": ["NRP", "RELIGION"],
        "sexual_orientation": ["SEXUAL_ORIENTATION"],
        "icd10": ["HEALTH_DATA"],
        "genotype_rs429358": ["GENETIC"],
        "allergies": ["HEALTH_DATA"],
        "union_member": ["TRADE_UNION"],
        "copay": [],
    }
    cells["clinic.parquet"] = {"visit_note": planted}


# --- class 5: European identifiers and addresses --------------------------------------------------------

NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
HETU_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12,
                   14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip
CF_EVEN = {**{str(d): d for d in range(10)}, **{chr(65 + i): i for i in range(26)}}


def eu_ids(rng: random.Random) -> dict[str, str]:
    """One of each identifier, valid by its published check-digit rule (no real person's)."""
    n = rng.randint(10_000_000, 99_999_999)
    nie_prefix, nie_n = rng.choice("XYZ"), rng.randint(0, 9_999_999)
    letters = "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
    cf = f"{letters}{rng.randint(40, 99)}{rng.choice('ABCDEHLMPRST')}{rng.randint(1, 28):02d}{rng.choice('ABCDEFGHL')}{rng.randint(100, 999)}"
    cf += chr(65 + sum(CF_ODD[c] if i % 2 == 0 else CF_EVEN[c] for i, c in enumerate(cf)) % 26)
    year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
    body = f"{year % 100:02d}{month + (20 if year >= 2000 else 0):02d}{day:02d}{rng.randint(0, 9999):04d}"
    pesel = body + str((10 - sum(int(d) * w for d, w in zip(body, [1, 3, 7, 9, 1, 3, 7, 9, 1, 3], strict=True)) % 10) % 10)
    digits = f"{day:02d}{month:02d}{year % 100:02d}{rng.randint(2, 899):03d}"
    hetu = f"{digits[:6]}{'-' if year < 2000 else 'A'}{digits[6:]}{HETU_CHARS[int(digits) % 31]}"
    while True:
        pool = rng.sample("0123456789", 9)
        tax = pool + [rng.choice(pool)]
        rng.shuffle(tax)
        if tax[0] != "0":
            break
    product = 10
    for d in tax:
        product = (2 * ((int(d) + product) % 10 or 10)) % 11
    steuer = "".join(tax) + str((11 - product) % 10)
    nino = (
        f"{rng.choice('ABCEGHJKLMNPRSTWXYZ')}{rng.choice('ABCEGHJKLMNPRSTWXYZ')}{rng.randint(0, 999_999):06d}{rng.choice('ABCD')}"
    )
    return {
        "nif": f"{n}{NIF_LETTERS[n % 23]}",
        "nie": f"{nie_prefix}{nie_n:07d}{NIF_LETTERS[int(str('XYZ'.index(nie_prefix)) + f'{nie_n:07d}') % 23]}",
        "codice_fiscale": cf,
        "pesel": pesel,
        "hetu": hetu,
        "steuer_id": steuer,
        "ni_number": nino,
    }


EU_LOCALES = {"DE": "de_DE", "FR": "fr_FR", "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "IE": "en_IE", "PL": "pl_PL"}


def add_eu_people(rng: random.Random, seed: int, rows: int, tables: dict, labels: dict) -> None:
    n = rows * 2 // 3
    fakes = {c: Faker(loc) for c, loc in EU_LOCALES.items()}
    for j, f in enumerate(fakes.values()):
        f.seed_instance(seed + 100 + j)
    countries = [rng.choice(list(EU_LOCALES)) for _ in range(n)]
    ids = [eu_ids(rng) for _ in range(n)]
    data: dict[str, list] = {"customer_ref": [f"EU-{seed:02d}-{i:06d}" for i in range(n)]}
    data.update({key: [row[key] for row in ids] for key in ids[0]})
    data["street"] = [fakes[c].street_address() for c in countries]
    data["postcode"] = [fakes[c].postcode() for c in countries]
    data["country"] = countries
    data["mobile"] = [eu_phone(rng, c if c != "IE" else "GB", phonenumbers.PhoneNumberFormat.NATIONAL) for c in countries]
    data["member_since"] = [rng.randint(1995, 2026) for _ in range(n)]
    tables["eu_people.jsonl"] = pd.DataFrame(data)
    labels["eu_people.jsonl"] = {
        "customer_ref": [],
        "nif": ["ES_NIF"],
        "nie": ["ES_NIE"],
        "codice_fiscale": ["IT_FISCAL_CODE"],
        "pesel": ["PL_PESEL"],
        "hetu": ["FI_PERSONAL_IDENTITY_CODE"],
        "steuer_id": ["DE_TAX_ID"],
        "ni_number": ["UK_NINO"],
        "street": ["LOCATION"],
        "postcode": ["LOCATION"],
        "country": ["LOCATION"],
        "mobile": ["PHONE_NUMBER"],
        "member_since": [],
    }


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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    tables, labels, cells = build(args.seed, args.rows)
    write(tables, labels, cells, args.out)
    pairs = sum(len(t) for cols in labels.values() for t in cols.values())
    print(f"wrote {len(tables)} tables, {sum(len(c) for c in labels.values())} columns, {pairs} labelled pairs to {args.out}")


if __name__ == "__main__":
    main()
