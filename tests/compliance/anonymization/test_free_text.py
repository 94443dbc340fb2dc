"""Issue 13 ("De-identification must leave nothing behind"): Safe Harbor free-text scrubbing
removes every identifier the table itself knows -- any row's name, name parts, phone, e-mail, MRN,
SSN and address, as people write them -- besides the recognizers' hits; the verification searches
every output cell for every one of those values and counts them per column; the run reports how
many other words the scrubbing took with them (over-redaction).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from compliance.anonymization.known import KnownValues
from compliance.anonymization.redaction import TextStats, removed_words
from compliance.policies.models import AnonymizationRun
from tests.compliance.anonymization.conftest import dotted, patients_with_notes, street_only

pytestmark = pytest.mark.django_db


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def anonymize(src: Path, dst: Path, policy: str = "hipaa-safe-harbor") -> tuple[AnonymizationRun, str, int]:
    out = io.StringIO()
    status = 0
    try:
        call_command("anonymize", str(src), "--policy", policy, "--out", str(dst), stdout=out)
    except CommandError as exc:
        status = exc.returncode
    return AnonymizationRun.objects.latest("id"), out.getvalue(), status


def mentions(text: str, value: str) -> bool:
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", text, re.I) is not None


def value_search(run: AnonymizationRun) -> dict:
    return next(c for c in run.report["verification"]["checks"] if c["name"].startswith("identifier value search"))


def test_safe_harbor_removes_every_identifier_the_table_knows_from_the_notes_including_name_parts(tmp_path):
    frame = patients_with_notes(60)
    src, dst = tmp_path / "patients.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    run, printed, status = anonymize(src, dst)
    notes = read(dst)["notes"].tolist()
    left = []
    for i, (row, note) in enumerate(zip(frame.itertuples(), notes, strict=True)):
        first, last = row.full_name.split(" ", 1)
        other_last = frame.iloc[(i + 7) % len(frame)]["full_name"].split(" ", 1)[1]
        for kind, value in (
            ("first name alone", first),
            ("last name alone", last),
            ("another patient's last name", other_last),
            ("phone written with dots", dotted(row.phone)),
            ("e-mail", row.email),
            ("street without its number", street_only(row.street_address)),
            ("MRN digits", row.mrn.split("-")[-1]),
            ("SSN", row.ssn),
        ):
            if mentions(note, value):
                left.append((i, kind))
    assert left == [], left[:10]
    # scrubbed, not emptied: the clinical words stay
    assert sum("blood pressure stable" in n or "mild headache" in n or "lab results" in n for n in notes) == len(notes)
    search = value_search(run)
    assert search["found"] == 0 and search["complete"] and run.report["passed"] is True and status == 0
    assert "checks passed (nothing found)" in printed


def test_the_value_search_counts_name_parts_and_numbers_written_another_way_in_every_cell(tmp_path):
    frame = patients_with_notes(40).drop(columns=["notes"])
    # A kept short column (not free text, so nothing scrubs it): it repeats identifiers in forms a
    # whole-value search misses. Every planted cell must be counted, and nothing else.
    frame["remarks"] = "ok"
    last_names = frame["full_name"].str.split(" ", n=1).str[1]
    frame.loc[0:4, "remarks"] = [f"per {name.upper()}" for name in last_names[0:5]]  # last name alone
    frame.loc[5:7, "remarks"] = [f"cb {dotted(p)}" for p in frame.loc[5:7, "phone"]]  # other separators
    frame.loc[8:9, "remarks"] = ["+1 " + dotted(p).replace(".", " ") for p in frame.loc[8:9, "phone"]]  # country code
    frame.loc[10, "remarks"] = "Lives on " + street_only(frame.loc[10, "street_address"])
    src, dst = tmp_path / "p.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    run, printed, status = anonymize(src, dst)
    search = value_search(run)
    assert search["by_column"] == {"remarks": 11}, search["by_column"]
    assert status == 2 and run.report["passed"] is False and "NOT verified" in printed
    # the report says what it searched and what it did not, with counts, never a value
    values = search["values"]
    assert values["partial_forms"]["name parts"] >= 2 * len(frame) - 5  # first and last of each full name
    assert values["by_source_column"]["full_name"] > 0 and values["digit_forms"] > 0
    assert any("common English words" in gap for gap in search["not_checked"])
    assert any("shorter than 3 characters" in gap for gap in search["not_checked"])
    assert last_names[0].lower() not in str(run.report).lower()


def test_a_name_that_is_a_common_word_is_found_with_its_capital_only():
    known = KnownValues()
    known.collect(pd.Series(["Will Hope", "Marta Olsen"]), entity_type="PERSON", column="full_name")
    assert known.scrub("Will called; we will hope for the best. Olsen agreed.") == (
        "<PERSON> called; we will hope for the best. <PERSON> agreed."
    )
    assert known.scrub("Mrs OLSEN (marta) planned a visit") == "Mrs <PERSON> (<PERSON>) planned a visit"
    assert known.count_cells(["will do", "WILL do", "Hope so", "no name"]) == 2


def test_numbers_are_found_by_their_digits_whatever_separators_and_extensions_surround_them():
    known = KnownValues()
    known.collect(pd.Series(["(212)555-0147x45"]), entity_type="PHONE_NUMBER", column="phone")
    known.collect(pd.Series(["910-45-6700"]), entity_type="US_SSN", column="ssn")
    for text in (
        "call 212.555.0147 today",
        "call +1 212 555 0147",
        "call 2125550147 2 visits ago",
        "call (212) 555-0147 ext. 45",
        "ssn 910 45 6700 on file",
        "ssn 910456700.",
    ):
        assert "<" in known.scrub(text) and not re.search(r"\d{4}", known.scrub(text)), text
    # a longer number that merely contains the digits is not the value
    assert known.scrub("order 92125550147 shipped") == "order 92125550147 shipped"
    assert known.scrub("lot 9104567001") == "lot 9104567001"


def test_over_redaction_counts_the_other_words_the_scrubbing_removed():
    known = KnownValues()
    known.collect(pd.Series(["Marta Olsen"]), entity_type="PERSON", column="full_name")
    original = "Marta called about knee pain in Springfield"
    assert [r for *_, r in removed_words(original, "<PERSON> called about <LOCATION> pain in <LOCATION>")] == [
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    stats = TextStats()
    stats.add([original], ["<PERSON> called about <LOCATION> pain in <LOCATION>"], known=known, column="notes")
    report = stats.as_dict(["notes"])
    assert report["words"] == 7 and report["known_identifier_words"] == 1 and report["known_identifier_words_removed"] == 1
    assert report["other_words"] == 6 and report["other_words_removed"] == 2
    assert report["over_redaction_share"] == round(2 / 6, 4)


def test_the_run_reports_its_over_redaction(tmp_path):
    frame = patients_with_notes(30)
    src, dst = tmp_path / "patients.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    run, _, _ = anonymize(src, dst)
    free_text = run.report["free_text"]
    assert free_text["columns"] == ["notes"] and free_text["texts"] == frame["notes"].nunique()
    assert free_text["known_identifier_words"] > 0
    assert free_text["known_identifier_words_removed"] == free_text["known_identifier_words"]
    assert 0 <= free_text["over_redaction_share"] < 0.25
    assert free_text["by_column"]["notes"]["other_words"] == free_text["other_words"]


def test_a_two_letter_name_is_found_as_written_only():
    known = KnownValues()
    known.collect(pd.Series(["Jo Ng", "Ed"]), entity_type="PERSON", column="name")
    assert known.scrub("Jo and Mr Ng came to the ED; Ed waited.") == "<PERSON> and Mr <PERSON> came to the ED; <PERSON> waited."
    assert known.count_cells(["seen in the ED", "go to bed"]) == 0
