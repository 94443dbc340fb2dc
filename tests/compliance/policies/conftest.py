"""Fixtures of the policy tests: a private key ring per test, synthetic tables made with Faker."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest
from faker import Faker

from catalog import services as catalog_services

RESTRICTED_ZIPS = ["03601", "05902", "06390", "10211", "20301", "55601", "69201", "79001", "82101", "89301"]


@pytest.fixture(autouse=True)
def key_ring(settings, tmp_path):
    """Each test gets its own key ring directory (never var/)."""
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    # Data is reached only inside the configured roots (compliance.datasets): the test's own files.
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    return tmp_path / "keys"


def make_patients(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """A patients table shaped like the demo one, with restricted ZIP3 areas and ages over 89."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        born = fake.date_of_birth(minimum_age=1, maximum_age=104)
        if i % 25 == 0:
            born = date(1920 + i % 10, 1 + i % 12, 1 + i % 27)  # over 89
        rows.append(
            {
                "patient_id": f"P{100000 + i}",
                "mrn": f"MRN-{rng.randint(1_000_000, 9_999_999)}",
                "first_name": fake.first_name(),
                "last_name": fake.last_name(),
                "date_of_birth": born.isoformat(),
                "age": str((date(2026, 1, 1) - born).days // 365),
                "sex": rng.choice("FM"),
                "ssn": fake.ssn(),
                "phone": fake.phone_number(),
                "email": fake.email(),
                "street_address": fake.street_address(),
                "city": fake.city(),
                "state": fake.state_abbr(),
                "zip": RESTRICTED_ZIPS[i % len(RESTRICTED_ZIPS)] if i % 10 == 0 else fake.zipcode(),
                "insurance_member_id": fake.bothify("???#########").upper(),
                "ip_address": fake.ipv4_public(),
                "admitted_on": (date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))).isoformat(),
                "blood_type": rng.choice(["A+", "A-", "B+", "O+", "O-", "AB+"]),
                "smoker": rng.choice(["True", "False"]),
                "diagnosis_code": rng.choice(["E11.9", "I10", "J44.9", "N39.0", "K92.2"]),
            }
        )
    return pd.DataFrame(rows)


IDENTIFIER_COLUMNS = [
    "patient_id",
    "mrn",
    "first_name",
    "last_name",
    "ssn",
    "phone",
    "email",
    "street_address",
    "city",
    "insurance_member_id",
    "ip_address",
]


@pytest.fixture
def patients_csv(tmp_path):
    frame = make_patients()
    path = tmp_path / "patients.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture
def file_asset(tmp_path):
    """``file_asset(frame, name, **fields)`` -> a cataloged CSV asset with its columns."""

    def make(frame: pd.DataFrame, name: str = "t", fmt: str = "csv", **fields):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        source = catalog_services.source_ensure(namespace=f"file://{tmp_path}", actor="test", kind="file_share")
        asset = catalog_services.asset_register(
            actor="test", source=source, qualified_name=name, kind="file", location=str(path), **fields
        )
        catalog_services.columns_sync(asset=asset, columns=[{"name": c} for c in frame.columns], actor="test")
        return asset

    return make
