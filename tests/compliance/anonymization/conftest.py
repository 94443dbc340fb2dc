"""Fixtures of the anonymization tests: the policy tests' key ring, data roots and cataloged files,
and a patients table whose free-text notes mention the table's own identifiers the way people
write them (first or last name alone, other phone formats, a street without its number)."""

from __future__ import annotations

import random

import pandas as pd

from tests.compliance.policies.conftest import file_asset, key_ring, make_patients  # noqa: F401 - fixtures

NEIGHBOUR = "neighbour"


def dotted(phone: str) -> str:
    """``(490) 736-7125x12`` -> ``490.736.7125``: the same number, written another way."""
    digits = "".join(c for c in phone.split("x")[0] if c.isdigit())[-10:]
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"


def street_only(address: str) -> str:
    """``5341 Reed Plains Apt. 4`` -> ``Reed Plains``."""
    words = address.split()
    if words and words[0].isdigit():
        words = words[1:]
    for unit in ("Apt.", "Suite"):
        if unit in words:
            words = words[: words.index(unit)]
    return " ".join(words)


def patients_with_notes(n: int = 60, seed: int = 5) -> pd.DataFrame:
    """``make_patients`` with ``full_name`` (first and last) and ``notes`` that mention, per row,
    the first name alone, the last name alone, the phone written with dots, the street without its
    number, the e-mail, the MRN's digits and another patient's last name."""
    frame = make_patients(n, seed=seed)
    frame["full_name"] = frame["first_name"] + " " + frame["last_name"]
    rng = random.Random(seed)
    notes = []
    for i, row in enumerate(frame.itertuples()):
        other = frame.iloc[(i + 7) % n]
        mrn_digits = row.mrn.split("-")[-1]
        templates = [
            f"{row.first_name} reported mild headache since the last visit; {row.last_name} family asked for a callback "
            f"at {dotted(row.phone)}. Lives on {street_only(row.street_address)} with a {NEIGHBOUR} ({other.last_name}) nearby.",
            f"Called {row.first_name.upper()} about the lab results; left voicemail at {dotted(row.phone)}. "
            f"Record {mrn_digits} updated, copy sent to {row.email}. Mr or Ms {row.last_name} to return in two weeks.",
            f"Follow-up for {row.last_name}: blood pressure stable, continue current medications. "
            f"Reach {row.first_name} at {dotted(row.phone)} or {row.email}; SSN {row.ssn} verified at the front desk.",
        ]
        notes.append(rng.choice(templates))
    frame["notes"] = notes
    return frame.drop(columns=["first_name", "last_name"])
