"""The scanner's column decisions on DataFrames (real Presidio and spaCy, no database)."""

from __future__ import annotations

import json
import socket

import pandas as pd
import pytest

from compliance.scanning.scanner import scan_dataframe


@pytest.fixture(scope="module")
def result(engine, people):
    return scan_dataframe(people, sample_size=300, seed=1)


def types(result, column: str) -> set[str]:
    return result.column(column).entity_types


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("full_name", {"PERSON"}),
        ("email", {"EMAIL_ADDRESS"}),
        ("phone", {"PHONE_NUMBER"}),
        ("ssn", {"US_SSN"}),
        ("card", {"CREDIT_CARD"}),
        ("npi", {"US_NPI"}),
        ("zip", {"US_ZIP_CODE"}),
        ("x1", {"EMAIL_ADDRESS"}),
        ("contact", {"EMAIL_ADDRESS", "PHONE_NUMBER"}),
        ("backup_email", {"EMAIL_ADDRESS"}),
    ],
)
def test_it_finds_exactly_the_personal_types_of_a_column(result, column, expected):
    assert types(result, column) == expected


@pytest.mark.parametrize("column", ["order_number", "manufacturer", "item_uuid", "checksum", "price", "review"])
def test_it_does_not_flag_hard_negatives(result, column):
    assert types(result, column) == set()


def test_a_finding_carries_share_confidence_recognizers_and_the_name_hint(result):
    (email,) = result.column("email").entities
    assert email.share == 1.0 and 0.9 <= email.confidence <= 1.0
    assert email.recognizers == ("EmailRecognizer",) and email.name_hint_used is False
    (zip_code,) = result.column("zip").entities
    assert zip_code.name_hint_used is True  # a bare 5-digit number is a ZIP code only when the column says so
    contact = {e.type: e.share for e in result.column("contact").entities}
    assert 0.35 <= contact["EMAIL_ADDRESS"] <= 0.65 and 0.35 <= contact["PHONE_NUMBER"] <= 0.65


def test_a_sparse_column_is_found_because_nulls_are_skipped_before_sampling(result):
    column = result.column("backup_email")
    assert column.nonnull == 12 and column.sampled == 12
    assert column.entities[0].share == 1.0


def test_weak_identifiers_need_the_column_name_and_checksums_must_pass(engine):
    digits = [f"{i:05d}" for i in range(10000, 10400)]
    assert scan_dataframe(pd.DataFrame({"warehouse_code": digits}), sample_size=200).columns[0].entities == ()
    assert scan_dataframe(pd.DataFrame({"postal_code": digits}), sample_size=200).columns[0].entity_types == {"US_ZIP_CODE"}
    assert scan_dataframe(pd.DataFrame({"postal_code": digits}), sample_size=200, column_hints=False).columns[0].entities == ()
    int_zips = pd.DataFrame({"zip": [2134, 1001, 90210, 60601, 10001] * 40})  # leading zeros lost
    (zip_finding,) = scan_dataframe(int_zips, sample_size=200).columns[0].entities
    assert zip_finding.type == "US_ZIP_CODE" and zip_finding.name_hint_used and zip_finding.confidence >= 0.7
    bad_cards = [f"4111111111111{i:03d}" for i in range(200) if i % 10 != 1]  # all but a few fail Luhn
    assert "CREDIT_CARD" not in scan_dataframe(pd.DataFrame({"card": bad_cards}), sample_size=200).columns[0].entity_types


def test_dates_are_personal_when_the_column_or_the_years_say_so(engine):
    recent = pd.Series(pd.date_range("2025-01-01", periods=200, freq="D"))
    births = pd.Series(pd.date_range("1940-01-01", periods=200, freq="97D")).dt.strftime("%Y-%m-%d")
    df = pd.DataFrame({"created_at": recent, "admission_date": recent, "d7": births})
    result = scan_dataframe(df, sample_size=200)
    assert types(result, "created_at") == set()
    assert types(result, "admission_date") == {"DATE_TIME"}
    assert types(result, "d7") == {"DATE_TIME"}


def test_free_text_reports_each_type_it_holds(engine):
    notes = [
        f"Spoke with {name} today, she asked us to email {email} before Friday." if i % 2 else "Vitals stable, no acute distress."
        for i, (name, email) in enumerate(
            zip(["Maria Gonzalez", "James Carter", "Emily Chen", "Robert Miller"] * 50, ["a@example.org"] * 200, strict=True)
        )
    ]
    result = scan_dataframe(pd.DataFrame({"notes": notes}), sample_size=200)
    assert types(result, "notes") == {"PERSON", "EMAIL_ADDRESS"}
    assert result.columns[0].mode == "text"


def test_sampling_is_reproducible_for_a_seed(engine, people):
    a = scan_dataframe(people, sample_size=50, seed=5)
    b = scan_dataframe(people, sample_size=50, seed=5)
    c = scan_dataframe(people, sample_size=50, seed=6)
    assert a.as_json()["columns"] == b.as_json()["columns"] and a.rows_sampled == b.rows_sampled
    # 50 rows per column; the sparse column's 12 non-null rows are mostly outside the dense sample
    assert 50 < a.rows_sampled <= 62 and 50 < c.rows_sampled <= 62
    assert a.rows_total == 300 and a.column("email").sampled == 50


def test_findings_and_the_json_document_never_hold_cell_values(result, people):
    dumped = json.dumps(result.as_findings()) + json.dumps(result.as_json())
    for column in ["full_name", "email", "phone", "ssn", "card", "x1"]:
        assert not any(str(v) in dumped for v in people[column].head(50))


def test_the_engine_loads_and_scans_with_the_network_unreachable(monkeypatch):
    import tldextract.tldextract

    from compliance.scanning.engine import Engine

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fresh = Engine()  # a new analyzer, recognizers and spaCy pipeline: nothing may be downloaded
    hits = fresh.analyze_structured("someone@mail.example.co.uk")
    assert [h.entity for h in hits] == ["EMAIL_ADDRESS"]
    assert tldextract.tldextract.TLD_EXTRACTOR("www.example.com.au").suffix == "com.au"


def test_machine_strings_are_not_free_text_and_full_addresses_and_lower_case_names_are_found(engine):
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(4)
    df = pd.DataFrame(
        {
            "user_agent": [fake.user_agent() for _ in range(200)],
            "mailing_address": [fake.address().replace("\n", ", ") for _ in range(200)],
            "customer_name": [fake.name().lower() for _ in range(200)],
        }
    )
    result = scan_dataframe(df, sample_size=200)
    assert types(result, "user_agent") == set()  # versions and slashes: not running text, no NER noise
    assert types(result, "mailing_address") == {"LOCATION"}
    assert types(result, "customer_name") == {"PERSON"}
