"""Issue 13 ("leave nothing behind"), street names: a row's ``street_address`` holds the street with
its house number (``40157 Oneal Flat``) while its notes name the street without the number, with
the suffix abbreviated the USPS way (``Oneal Flt``) or left out (``Oneal``). The scrubber removes
each of those forms and the run's own value search finds each of them when something leaves it in
the output. (bench/anonymize.py's one real leak: the unit pattern read ``Flat`` as ``Fl`` + ``at``.)
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from compliance.anonymization.known import KnownValues
from compliance.anonymization.streets import street_forms
from compliance.anonymization.verification import ValueSearch
from compliance.policies.models import AnonymizationRun

ROWS = [
    # street_address, what the note says about it
    ("40157 Oneal Flat", "Lives on Oneal Flat in West Christopher."),
    ("5341 Reed Plains Apt. 4", "Moved to 5341 Reed Plns last spring."),
    ("77 Elm Street Suite 200", "Office on Elm St, second floor."),
    ("123 N Main St", "Walks daily along North Main Street."),
    ("9 Kessler Avenue Fl 3", "Home is Kessler Ave (third floor)."),
    ("2534 Oneal Extensions", "Neighbour on Oneal asked about the dog."),
]


def test_street_forms_strip_number_and_unit_and_write_the_suffix_both_ways():
    forms = street_forms("40157 Oneal Flat")
    assert {"Oneal Flat", "Oneal Flt", "40157 Oneal Flt"} <= forms.forms and forms.bare == "Oneal"
    assert {"Reed Plains", "Reed Plns", "5341 Reed Plains"} <= street_forms("5341 Reed Plains Apt. 4").forms
    # "Fl" and "Ste" are unit designators only as whole words followed by a unit number
    assert "Fleet St" in street_forms("5 Fleet St Fl 3").forms
    assert {"Main St", "North Main Street", "N Main St"} <= street_forms("123 N Main St").forms
    # a name that is itself a suffix word ("Park") is not searched alone; "Key West" is not a unit
    assert street_forms("1 Park Ave").bare is None
    assert "Key West" in street_forms("12 Key West").forms


def test_the_scrubber_removes_every_form_of_a_rows_street_and_leaves_everyday_words():
    known = KnownValues()
    known.collect(pd.Series([a for a, _ in ROWS]), entity_type="STREET_ADDRESS", column="street_address")
    for address, note in ROWS:
        scrubbed = known.scrub(note)
        assert "<STREET_ADDRESS>" in scrubbed, (address, scrubbed)
        for word in ("Oneal", "Flat", "Flt", "Reed", "Plns", "Elm", "Main", "Kessler"):
            assert word not in scrubbed, (address, scrubbed)
    # lower-case everyday words that are also suffixes or unit designators stay
    assert known.scrub("a flat surface on the main floor, lives in an apartment") == (
        "a flat surface on the main floor, lives in an apartment"
    )
    assert known.as_dict()["partial_forms"]["street forms (number, unit, USPS suffix, directional)"] > len(ROWS)


def test_the_value_search_finds_a_street_left_in_a_kept_column_in_any_of_its_forms():
    search = ValueSearch()
    search.collect(pd.Series(["40157 Oneal Flat", "77 Elm Street Suite 200"]), entity_type="STREET_ADDRESS")
    output = pd.DataFrame(
        {"remarks": ["seen at Oneal Flt", "ONEAL called", "on Elm St", "40157 Oneal Flat", "flat tyre", "elm tree", "ok"]}
    )
    search.search(output)
    assert search.by_column == {"remarks": 4}
    assert search.as_check()["found"] == 4


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.django_db
def test_safe_harbor_leaves_no_form_of_the_street_in_the_notes_and_its_check_passes(tmp_path):
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{100 + i}" for i in range(len(ROWS))],
            "full_name": ["Alex Turner", "Roy Jones", "Mia Lund", "Ann Ortiz", "Kai Berg", "Zoe Hart"],
            "street_address": [a for a, _ in ROWS],
            "notes": [f"{note} Blood pressure stable on current medications, review in two weeks." for _, note in ROWS],
        }
    )
    src, dst = tmp_path / "patients.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    out = io.StringIO()
    call_command("anonymize", str(src), "--policy", "hipaa-safe-harbor", "--out", str(dst), stdout=out)
    notes = read(dst)["notes"].tolist()
    for note in notes:
        for word in ("Oneal", "Flat", "Flt", "Reed", "Plns", "Elm", "Main", "Kessler"):
            assert word not in note, note
        assert "Blood pressure stable on current medications" in note
    run = AnonymizationRun.objects.latest("id")
    search = next(c for c in run.report["verification"]["checks"] if c["name"].startswith("identifier value search"))
    assert search["found"] == 0 and run.report["passed"] is True


@pytest.mark.django_db
def test_a_street_form_left_in_the_output_fails_the_runs_own_check(tmp_path, settings):
    """The same table with the notes kept as they are (a policy column rule): the check must fail
    and count every row whose note names the street in another form."""
    from compliance.policies.services import policy_create

    frame = pd.DataFrame(
        {
            "patient_id": [f"P{100 + i}" for i in range(len(ROWS))],
            "street_address": [a for a, _ in ROWS],
            "remark": [note for _, note in ROWS],
        }
    )
    src, dst = tmp_path / "patients.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    policy_create(
        actor="test",
        name="keep remarks",
        kind="anonymization",
        config={"profile": "hipaa-safe-harbor", "columns": {"remark": {"operator": "keep"}}},
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("anonymize", str(src), "--policy", "keep remarks", "--out", str(dst), stdout=out)
    assert failed.value.returncode == 2
    run = AnonymizationRun.objects.latest("id")
    search = next(c for c in run.report["verification"]["checks"] if c["name"].startswith("identifier value search"))
    assert search["by_column"] == {"remark": len(ROWS)} and run.report["passed"] is False
    assert "Oneal" not in str(run.report)
