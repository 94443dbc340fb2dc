"""Fixtures of the scanning tests: the PII engine is loaded once per test session (it takes seconds)."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from faker import Faker


@pytest.fixture(scope="session")
def engine():
    from compliance.scanning.engine import get_engine

    return get_engine()


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def npi(rng: random.Random) -> str:
    body = rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(8))
    return body + luhn_digit("80840" + body)


def phone(rng: random.Random) -> str:
    return f"({rng.choice([212, 415, 312, 617])}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


@pytest.fixture(scope="session")
def people() -> pd.DataFrame:
    """300 rows: personal columns under telling and meaningless names, plus hard negatives."""
    rng = random.Random(11)
    fake = Faker("en_US")
    fake.seed_instance(11)
    n = 300
    return pd.DataFrame(
        {
            "full_name": [fake.name() for _ in range(n)],
            "email": [fake.email() for _ in range(n)],
            "phone": [phone(rng) for _ in range(n)],
            "ssn": [fake.ssn() for _ in range(n)],
            "card": [fake.credit_card_number(card_type="visa16") for _ in range(n)],
            "npi": [npi(rng) for _ in range(n)],
            "zip": [fake.zipcode() for _ in range(n)],
            "x1": [fake.email() for _ in range(n)],
            "order_number": [str(rng.randint(10**9, 10**10 - 1)) for _ in range(n)],
            "manufacturer": [fake.company() for _ in range(n)],
            "item_uuid": [fake.uuid4() for _ in range(n)],
            "checksum": [fake.sha256() for _ in range(n)],
            "price": [round(rng.uniform(1, 100), 2) for _ in range(n)],
            "contact": [fake.email() if i % 2 else phone(rng) for i in range(n)],
            "backup_email": [fake.email() if i % 25 == 0 else None for i in range(n)],
            "review": [fake.sentence(nb_words=12) for _ in range(n)],
        }
    )


@pytest.fixture(autouse=True)
def data_root(settings, tmp_path):
    """Each test's tmp_path is the data root (compliance.datasets reads nothing outside the roots)."""
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    return tmp_path
