"""Generate the labelled evaluation set of the PII scanner (seeded, reproducible).

    .venv/bin/python bench/data/scan/generate.py [--seed 20261126] [--rows 2000] [--out bench/data/scan]

Writes six tables (CSV, Parquet, JSON lines) and ``labels.json``: for every table and column the
entity types the column really holds (GDPR Art. 9 types since issue 13: ICD-10 codes and clinical
notes are HEALTH_DATA, a religion column RELIGION) (an empty list for a column without personal data). The
tables mix every entity type of the vocabulary with hard negatives: numeric ids shaped like phone
numbers, product and company names, category codes, hashes and UUIDs, generic column names over
non-personal values, personal data behind meaningless column names, sparse columns, mixed columns,
and free text with and without personal data. All values are synthetic (Faker + generated checksums).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker

# Fixed "today": the files are the same whoever regenerates them, whenever.
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 12, 0, 0)
AREA_CODES = [201, 202, 206, 212, 213, 214, 303, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 808, 917, 971]
CITIES = ["Springfield", "Fresno", "Tulsa", "Omaha", "Boise", "Reno", "Spokane", "Savannah", "Albany", "Madison", "Dayton",
          "Boston", "Chicago", "Seattle", "Denver", "Austin", "Portland", "Atlanta", "Miami", "Houston", "Phoenix",
          "Buffalo", "Richmond", "Lexington", "Anchorage", "Honolulu", "Tacoma", "Akron", "Toledo", "Wichita"]  # fmt: skip
STATES = ["California", "Texas", "New York", "Florida", "Ohio", "Georgia", "Oregon", "Nevada", "Utah", "Maine", "Iowa",
          "Illinois", "Michigan", "Arizona", "Colorado", "Virginia", "Washington", "Kentucky"]  # fmt: skip
NATIONALITIES = ["American", "German", "French", "Mexican", "Indian", "Chinese", "Nigerian", "Brazilian", "Canadian", "Polish",
                 "Italian", "Japanese", "Irish", "Kenyan", "Filipino", "Vietnamese", "Spanish", "British"]  # fmt: skip
RELIGIONS = ["Catholic", "Protestant", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "Orthodox", "Atheist", "Agnostic"]
SYMPTOMS = ["chest pain", "a persistent cough", "dizziness", "lower back pain", "a mild fever", "shortness of breath",
            "headaches", "fatigue", "nausea after meals", "a swollen ankle"]  # fmt: skip
CATEGORIES = ["electronics", "garden", "toys", "kitchen", "outdoor", "office", "books", "beauty", "sports", "grocery"]
ADJ = ["Ultra", "Pro", "Smart", "Eco", "Compact", "Deluxe", "Classic", "Turbo", "Mini", "Max", "Quantum", "Nova"]
NOUNS = ["Blender", "Drill", "Lamp", "Kettle", "Router", "Backpack", "Speaker", "Monitor", "Chair", "Tent", "Toaster", "Mixer"]


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def npi(rng: random.Random) -> str:
    body = rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(8))
    return body + luhn_digit("80840" + body)


def nhs(rng: random.Random) -> str:
    while True:
        body = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(body)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            digits = "".join(map(str, body)) + str(check)
            return digits if rng.random() < 0.5 else f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def dea(rng: random.Random, last_name: str) -> str:
    first = rng.choice("ABFGMPR")
    second = last_name[0].upper() if last_name[:1].isalpha() else "X"
    d = [rng.randint(0, 9) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


def phone(rng: random.Random) -> str:
    a, e, n = rng.choice(AREA_CODES), rng.randint(200, 999), rng.randint(0, 9999)
    if e == 555:
        e = 556
    fmt = rng.choice(["({a}) {e}-{n:04d}", "{a}-{e}-{n:04d}", "+1 {a} {e} {n:04d}", "{a}.{e}.{n:04d}", "+1-{a}-{e}-{n:04d}"])
    return fmt.format(a=a, e=e, n=n)


def card(fake: Faker, rng: random.Random) -> str:
    number = fake.credit_card_number(card_type=rng.choice(["visa16", "mastercard", "amex", "discover"]))
    if len(number) == 16 and rng.random() < 0.5:
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number


def sparse(values: list, rng: random.Random, keep: float) -> list:
    return [v if rng.random() < keep else None for v in values]


def build(seed: int, rows: int) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, list[str]]]]:
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    fake_de, fake_gb, fake_fr = Faker("de_DE"), Faker("en_GB"), Faker("fr_FR")
    for i, f in enumerate((fake_de, fake_gb, fake_fr)):
        f.seed_instance(seed + i + 1)
    r = range(rows)
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, dict[str, list[str]]] = {}

    # 1. patients (CSV): HIPAA identifiers, free-text notes, hard-negative codes.
    first = [fake.first_name() for _ in r]
    last = [fake.last_name() for _ in r]
    notes = []
    for i in r:
        parts = [f"Patient reports {rng.choice(SYMPTOMS)} since {rng.choice(['Monday', 'last week', 'the weekend'])}."]
        if rng.random() < 0.6:
            parts.append(f"Seen by Dr. {fake.last_name()}; spoke with {first[i]} {last[i]} about the treatment plan.")
        if rng.random() < 0.35:
            parts.append(f"Callback number {phone(rng)}.")
        parts.append(rng.choice(["Vitals stable.", "Prescribed rest and fluids.", "Referred for imaging.", "No acute distress."]))
        notes.append(" ".join(parts))
    tables["patients.csv"] = pd.DataFrame(
        {
            "patient_id": [100000 + i for i in r],
            "mrn": [f"MRN-{rng.randint(0, 9999999):07d}" for _ in r],
            "first_name": first,
            "last_name": last,
            "dob": [fake.date_between(date(1931, 1, 1), date(2025, 6, 30)).isoformat() for _ in r],
            "ssn": [fake.ssn() for _ in r],
            "phone": [phone(rng) for _ in r],
            "email": [fake.email() for _ in r],
            "street_address": [fake.street_address() for _ in r],
            "city": [rng.choice(CITIES) for _ in r],
            "state": [rng.choice(STATES) for _ in r],
            "zip": [fake.zipcode() if rng.random() < 0.8 else fake.zipcode_plus4() for _ in r],
            "admission_date": [fake.date_between(TODAY - timedelta(days=3 * 365), TODAY).isoformat() for _ in r],
            "attending_npi": [npi(rng) for _ in r],
            "diagnosis_code": [f"{rng.choice('EIJKMR')}{rng.randint(10, 99)}.{rng.randint(0, 9)}" for _ in r],
            "insurance_plan": [rng.choice(["HMO Gold", "PPO Silver", "Medicare A", "Medicaid", "EPO Bronze"]) for _ in r],
            "weight_kg": [round(rng.uniform(3, 140), 1) for _ in r],
            "notes": notes,
        }
    )
    labels["patients.csv"] = {
        "patient_id": [], "mrn": ["MEDICAL_RECORD_NUMBER"], "first_name": ["PERSON"], "last_name": ["PERSON"],
        "dob": ["DATE_TIME"], "ssn": ["US_SSN"], "phone": ["PHONE_NUMBER"], "email": ["EMAIL_ADDRESS"],
        "street_address": ["LOCATION"], "city": ["LOCATION"], "state": ["LOCATION"], "zip": ["US_ZIP_CODE"],
        "admission_date": ["DATE_TIME"], "attending_npi": ["US_NPI"], "diagnosis_code": ["HEALTH_DATA"],
        "insurance_plan": [], "weight_kg": [], "notes": ["PERSON", "PHONE_NUMBER", "HEALTH_DATA"],
    }  # fmt: skip

    # 2. customers (Parquet): finance identifiers, mixed and sparse columns, ids shaped like phones.
    contact = [fake.email() if rng.random() < 0.5 else phone(rng) for _ in r]
    ibans = [rng.choice((fake_de, fake_gb, fake_fr)).iban() for _ in r]
    tables["customers.parquet"] = pd.DataFrame(
        {
            "customer_id": [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in r],
            "full_name": [fake.name() for _ in r],
            "contact": contact,
            "last_login_ip": [fake.ipv4() if rng.random() < 0.8 else fake.ipv6() for _ in r],
            "website": [fake.url() for _ in r],
            "card_number": [card(fake, rng) for _ in r],
            "iban": ibans,
            "bank_account_number": [str(rng.randint(10**9, 10**12 - 1)) for _ in r],
            "passport_number": [
                str(rng.randint(10**8, 10**9 - 1))
                if rng.random() < 0.5
                else f"{rng.choice('ACEFGHJKLM')}{rng.randint(0, 10**8 - 1):08d}"
                for _ in r
            ],
            "drivers_license": [f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(0, 9999999):07d}" for _ in r],
            "nationality": [rng.choice(NATIONALITIES) for _ in r],
            "religion": [rng.choice(RELIGIONS) for _ in r],
            "country": [fake.country() for _ in r],
            "signup_ts": pd.to_datetime([fake.date_time_between(NOW - timedelta(days=2 * 365), NOW) for _ in r]),
            "loyalty_tier": [rng.choice(["bronze", "silver", "gold", "platinum"]) for _ in r],
            "order_number": [rng.randint(10**9, 10**10 - 1) for _ in r],
            "password_hash": [hashlib.sha256(str(rng.random()).encode()).hexdigest() for _ in r],
            "secondary_email": sparse([fake.free_email() for _ in r], rng, 0.04),
            "emergency_phone": sparse([phone(rng) for _ in r], rng, 0.03),
            "balance": [round(rng.uniform(-500, 90000), 2) for _ in r],
            "is_active": [rng.random() < 0.9 for _ in r],
        }
    )
    labels["customers.parquet"] = {
        "customer_id": [], "full_name": ["PERSON"], "contact": ["EMAIL_ADDRESS", "PHONE_NUMBER"],
        "last_login_ip": ["IP_ADDRESS"], "website": ["URL"], "card_number": ["CREDIT_CARD"], "iban": ["IBAN_CODE"],
        "bank_account_number": ["US_BANK_NUMBER"], "passport_number": ["US_PASSPORT"],
        "drivers_license": ["US_DRIVER_LICENSE"], "nationality": ["NRP"], "religion": ["NRP", "RELIGION"],
        "country": ["LOCATION"],
        "signup_ts": [], "loyalty_tier": [], "order_number": [], "password_hash": [], "secondary_email": ["EMAIL_ADDRESS"],
        "emergency_phone": ["PHONE_NUMBER"], "balance": [], "is_active": [],
    }  # fmt: skip

    # 3. products (CSV): nothing personal, every column a hard negative.
    tables["products.csv"] = pd.DataFrame(
        {
            "sku": [f"SKU-{rng.randint(0, 99999):05d}" for _ in r],
            "name": [f"{rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.randint(100, 9999)}" for _ in r],
            "manufacturer": [fake.company() for _ in r],
            "category_code": [f"{rng.choice('ABCDEFGH')}{rng.randint(10, 99)}" for _ in r],
            "category": [rng.choice(CATEGORIES) for _ in r],
            "price": [round(rng.uniform(1, 2000), 2) for _ in r],
            "batch_number": [str(rng.randint(10**9, 10**10 - 1)) for _ in r],
            "tracking_number": [str(rng.randint(10**11, 10**12 - 1)) for _ in r],
            "item_uuid": [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in r],
            "checksum": [hashlib.md5(str(rng.random()).encode()).hexdigest() for _ in r],  # noqa: S324 - test data
            "warehouse_code": [f"{rng.randint(10000, 99999)}" for _ in r],
            "created_at": [fake.date_between(TODAY - timedelta(days=2 * 365), TODAY).isoformat() for _ in r],
            "version": [f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}" for _ in r],
            "description": [fake.paragraph(nb_sentences=3) for _ in r],
            "review": [
                f"{rng.choice(['Great', 'Solid', 'Disappointing', 'Decent', 'Excellent'])} {rng.choice(NOUNS).lower()}, "
                f"{rng.choice(['works as described', 'broke after a week', 'easy to set up', 'too loud', 'good value for money'])}. "
                + fake.sentence(nb_words=10)
                for _ in r
            ],
            "rating": [rng.randint(1, 5) for _ in r],
            "color": [fake.hex_color() for _ in r],
        }
    )
    labels["products.csv"] = {name: [] for name in tables["products.csv"].columns}

    # 4. misc (JSON lines): personal data behind meaningless names, generic names over non-personal data.
    data_text = []
    for _ in r:
        roll = rng.random()
        if roll < 0.4:
            data_text.append(f"Forwarded by {fake.name()} <{fake.email()}> regarding invoice {rng.randint(1000, 9999)}.")
        elif roll < 0.6:
            data_text.append(f"Please contact {fake.name()} before the next shipment is released.")
        else:
            data_text.append(fake.sentence(nb_words=12))
    tables["misc.jsonl"] = pd.DataFrame(
        {
            "col_a": [fake.email() for _ in r],
            "col_b": [fake.ssn() for _ in r],
            "col_c": [card(fake, rng) for _ in r],
            "col_d": [fake.name() for _ in r],
            "col_e": [phone(rng) for _ in r],
            "col_f": [rng.randint(0, 10**6) for _ in r],
            "col_g": [fake.street_address() for _ in r],
            "col_h": [fake.date_between(date(1936, 1, 1), date(2008, 11, 26)).isoformat() for _ in r],
            "field_x": [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in r],
            "field_y": [rng.choice((fake_de, fake_gb, fake_fr)).iban() for _ in r],
            "value": [fake.word() for _ in r],
            "attr1": [fake.ipv4() for _ in r],
            "attr2": [nhs(rng) for _ in r],
            "data": data_text,
            "code": [f"{rng.choice('XYZ')}-{rng.randint(100, 999)}" for _ in r],
            "amount": [round(rng.uniform(0, 1000), 2) for _ in r],
        }
    )
    labels["misc.jsonl"] = {
        "col_a": ["EMAIL_ADDRESS"], "col_b": ["US_SSN"], "col_c": ["CREDIT_CARD"], "col_d": ["PERSON"],
        "col_e": ["PHONE_NUMBER"], "col_f": [], "col_g": ["LOCATION"], "col_h": ["DATE_TIME"], "field_x": [],
        "field_y": ["IBAN_CODE"], "value": [], "attr1": ["IP_ADDRESS"], "attr2": ["UK_NHS"], "data": ["PERSON", "EMAIL_ADDRESS"],
        "code": [], "amount": [],
    }  # fmt: skip

    # 5. providers (CSV): NPI, DEA numbers, medical record numbers without prefix.
    provider_last = [fake.last_name() for _ in r]
    tables["providers.csv"] = pd.DataFrame(
        {
            "provider_name": [f"{fake.first_name()} {provider_last[i]}" for i in r],
            "npi": [npi(rng) for _ in r],
            "dea_number": [dea(rng, provider_last[i]) for i in r],
            "specialty": [rng.choice(["Cardiology", "Dermatology", "Pediatrics", "Oncology", "Radiology"]) for _ in r],
            "practice_phone": [phone(rng) for _ in r],
            "practice_address": [fake.street_address() for _ in r],
            "license_state": [rng.choice(STATES) for _ in r],
            "zip_code": [fake.zipcode() for _ in r],
            "taxonomy_code": [f"{rng.randint(100, 399)}{rng.choice('ABCDEFGHPQRSX')}{rng.randint(0, 99999):05d}X" for _ in r],
            "clinic_id": [rng.randint(1, 400) for _ in r],
            "patient_mrn": [str(rng.randint(10**7, 10**8 - 1)) for _ in r],
            "nhs_number": [nhs(rng) for _ in r],
            "hired_on": [fake.date_between(TODAY - timedelta(days=20 * 365), TODAY - timedelta(days=365)).isoformat() for _ in r],
            "accepting_new": [rng.choice(["yes", "no"]) for _ in r],
        }
    )
    labels["providers.csv"] = {
        "provider_name": ["PERSON"], "npi": ["US_NPI"], "dea_number": ["MEDICAL_LICENSE"], "specialty": [],
        "practice_phone": ["PHONE_NUMBER"], "practice_address": ["LOCATION"], "license_state": ["LOCATION"],
        "zip_code": ["US_ZIP_CODE"], "taxonomy_code": [], "clinic_id": [], "patient_mrn": ["MEDICAL_RECORD_NUMBER"],
        "nhs_number": ["UK_NHS"], "hired_on": ["DATE_TIME"], "accepting_new": [],
    }  # fmt: skip

    # 6. tickets (CSV, semicolon-delimited, latin-1): support free text with and without PII.
    body = []
    for _ in r:
        roll = rng.random()
        if roll < 0.35:
            body.append(f"Hi, this is {fake.name()}. My order has not arrived, please email me at {fake.email()}. Thanks.")
        elif roll < 0.55:
            body.append(
                f"Customer {fake.name()} called from {phone(rng)} asking about the refund for order {rng.randint(10**5, 10**6)}."
            )
        else:
            body.append(f"The {rng.choice(NOUNS).lower()} stopped working after the update. " + fake.sentence(nb_words=9))
    tables["tickets.csv"] = pd.DataFrame(
        {
            "ticket_id": [f"T{rng.randint(0, 10**7):07d}" for _ in r],
            "subject": [
                rng.choice(["Refund request", "Late delivery", "Broken item", "Billing question", "Café order"]) for _ in r
            ],
            "body": body,
            "agent": [fake.first_name() for _ in r],
            "priority": [rng.choice(["low", "normal", "high"]) for _ in r],
            "opened": [fake.date_time_between(NOW - timedelta(days=365), NOW).isoformat(timespec="seconds") for _ in r],
            "queue_number": [str(rng.randint(10**9, 10**10 - 1)) for _ in r],
        }
    )
    labels["tickets.csv"] = {
        "ticket_id": [], "subject": [], "body": ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"], "agent": ["PERSON"],
        "priority": [], "opened": [], "queue_number": [],
    }  # fmt: skip
    return tables, labels


def write(tables: dict[str, pd.DataFrame], labels: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = out / name
        if name.endswith(".parquet"):
            df.to_parquet(path, index=False, row_group_size=500)
        elif name.endswith(".jsonl"):
            df.to_json(path, orient="records", lines=True, force_ascii=False)
        elif name == "tickets.csv":
            df.to_csv(path, index=False, sep=";", encoding="latin-1")
        else:
            df.to_csv(path, index=False)
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    tables, labels = build(args.seed, args.rows)
    write(tables, labels, args.out)
    print(f"wrote {len(tables)} tables to {args.out}")


if __name__ == "__main__":
    main()
