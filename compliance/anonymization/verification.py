"""Verification of an anonymized output: what survives, searched in every output cell.

Contract (read by compliance/evidence/collect/claims.py; docs/policies.md "Verification"):
``report["verification"] = {"checks": [{"name", "covers", "found", "complete", "by_column",
"not_checked"}], "skipped": [{"name", "reason"}]}``.

* **identifier value search** -- every original value of every identifier column of the table
  (values of at least 3 characters) is searched in *every* output cell of *every* column, as a
  case-insensitive substring bounded by non-alphanumeric characters (so ``Ann`` is not found in
  ``planned``, but is in ``saw Ann today``); phone numbers, SSNs and other values made mostly of
  digits are also searched with their separators removed (``(490) 736-7125`` is found as
  ``490.736.7125``). One Aho-Corasick automaton over all values; counts per output column.
* **ages over 89** -- every output cell of the age-bearing columns (dates of birth, other dates
  generalized to years, ages): a year 90 or more years before the reference year, or an age over
  89, is a finding (45 CFR 164.514(b)(2)(i)(C)).

Both read every output row (``complete``). The report holds column names and counts, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import numpy as np
import pandas as pd

VALUE_SEARCH = "identifier value search (every output cell)"
AGES_CHECK = "ages over 89 (every age-bearing output cell)"
FREE_TEXT = "free_text"
AGES_OVER_89 = "ages_over_89"
AGE_BEARING = frozenset({"DATE_OF_BIRTH", "DATE_TIME", "AGE"})
OPAQUE_OPERATORS = frozenset({"surrogate", "hmac", "encrypt_siv", "encrypt_gcm"})
MIN_TEXT = 3
MIN_DIGITS = 7
# Identifier types written with varying separators: searched in a digits-only view as well.
NUMERIC_TYPES = frozenset(
    {"PHONE_NUMBER", "FAX_NUMBER", "US_SSN", "US_NPI", "ACCOUNT_NUMBER", "US_BANK_NUMBER", "CREDIT_CARD", "UK_NHS"}
)
_DIGIT_GAP = re.compile(r"(?<=\d)[\s\-.()/+]+(?=\d)")
_NON_DIGIT = re.compile(r"\D+")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def _digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def _mostly_digits(value: str) -> bool:
    digits = _digits(value)
    return len(digits) >= MIN_DIGITS and len(digits) >= 0.6 * len(value.replace(" ", ""))


@dataclass
class ValueSearch:
    """Collects the original identifier values of a table, then searches output chunks for them."""

    covers: set[str] = field(default_factory=set)
    columns: list[str] = field(default_factory=list)
    _text: set[str] = field(default_factory=set)
    _numbers: set[str] = field(default_factory=set)
    _automaton: Any = None
    by_column: dict[str, int] = field(default_factory=dict)
    cells: int = 0
    # Output columns written by an operator that emits random or keyed tokens (surrogate, hmac,
    # encryption): a value can only appear there by chance, so they are named in not_checked.
    opaque: dict[str, str] = field(default_factory=dict)

    def collect(self, series: pd.Series, *, entity_type: str | None = None) -> None:
        """Add a chunk of an identifier column's original values; phone-like and SSN-like types
        are also searched without their separators."""
        numeric = entity_type in NUMERIC_TYPES
        for value in pd.unique(series.dropna().astype(str)):
            text = value.strip().lower()
            if len(text) >= MIN_TEXT:
                self._text.add(text)
            if numeric and _mostly_digits(text):
                self._numbers.add(_digits(text))

    @property
    def distinct_values(self) -> int:
        return len(self._text | self._numbers)

    def _build(self) -> Any:
        if self._automaton is None:
            automaton = ahocorasick.Automaton()
            for text in self._text:
                automaton.add_word(text, len(text))
            for digits in self._numbers:
                automaton.add_word("#" + digits, len(digits))  # digit keys searched in a digits-only view
            if len(automaton):
                automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def search(self, frame: pd.DataFrame) -> None:
        """Count, per output column, the cells holding at least one original identifier value."""
        automaton = self._build()
        names = [n for n in frame.columns if str(n) not in self.opaque]
        self.cells += int(frame[names].size)
        if not len(automaton):
            return
        for name in names:
            cells = frame[name].dropna().astype(str).str.lower().tolist()
            if not cells:
                continue
            found = self._count(automaton, cells, digits=False)
            if self._numbers:
                joined = [_DIGIT_GAP.sub("", c) for c in cells]
                found |= self._count(automaton, joined, digits=True)
            if found:
                self.by_column[str(name)] = self.by_column.get(str(name), 0) + len(found)

    @staticmethod
    def _count(automaton: Any, cells: list[str], *, digits: bool) -> set[int]:
        """Indexes of the cells that hold a match bounded by non-alphanumerics (one pass over the
        column joined by newlines; matches are mapped back to cells through their offsets)."""
        text = "\n".join(cells)
        starts = np.cumsum([0] + [len(c) + 1 for c in cells[:-1]])
        hits: set[int] = set()
        if digits:
            # digit keys are stored as "#<digits>": search a view where every digit run is prefixed.
            text = re.sub(r"(?<!\d)(?=\d)", "#", text)
            starts = None
        for end, length in automaton.iter(text):
            key_len = length + (1 if digits else 0)
            begin = end - key_len + 1
            # Bounded by non-alphanumerics on both sides (in the digits view, before the "#" marker),
            # so a random surrogate's hex digits or a longer word do not count as the value.
            before = text[begin - 1] if begin > 0 else ""
            after = text[end + 1] if end + 1 < len(text) else ""
            if before.isalnum() or after.isalnum():
                continue
            if starts is None:
                hits.add(text.count("\n", 0, begin))
            else:
                hits.add(int(np.searchsorted(starts, begin, side="right")) - 1)
        return hits

    def as_check(self) -> dict[str, Any]:
        return {
            "name": VALUE_SEARCH,
            "covers": sorted(self.covers | {FREE_TEXT}),
            "found": sum(self.by_column.values()),
            "complete": True,
            "by_column": dict(sorted(self.by_column.items())),
            "identifier_columns": list(self.columns),
            "distinct_values_searched": self.distinct_values,
            "cells_searched": self.cells,
            "not_checked": [
                *(f"column {c} (opaque {op} tokens)" for c, op in sorted(self.opaque.items())),
                f"values shorter than {MIN_TEXT} characters",
                "identifiers that were never in an identifier column of this table (free text is scrubbed, "
                "and re-scanned on a sample)",
                "misspelt or re-formatted names",
            ],
        }


@dataclass
class AgesCheck:
    """Finds ages over 89 and years indicating them in the age-bearing output columns."""

    reference_year: int
    columns: dict[str, str] = field(default_factory=dict)  # output column -> entity type
    by_column: dict[str, int] = field(default_factory=dict)
    cells: int = 0

    def search(self, frame: pd.DataFrame) -> None:
        for name, entity in self.columns.items():
            if name not in frame.columns:
                continue
            values = frame[name].dropna().astype(str)
            self.cells += len(values)
            if entity == "AGE":
                numbers = pd.to_numeric(values, errors="coerce")
                found = int((numbers > 89).sum())
            else:
                years = pd.to_numeric(values.str.extract(_YEAR, expand=False), errors="coerce")
                dated = pd.to_datetime(values[years.isna()], errors="coerce", format="mixed")
                all_years = pd.concat([years.dropna(), dated.dt.year.dropna()])
                found = int((self.reference_year - all_years > 89).sum())
            if found:
                self.by_column[name] = self.by_column.get(name, 0) + found

    def as_check(self) -> dict[str, Any]:
        return {
            "name": AGES_CHECK,
            "covers": sorted({AGES_OVER_89} | set(self.columns.values())),
            "found": sum(self.by_column.values()),
            "complete": True,
            "by_column": dict(sorted(self.by_column.items())),
            "columns": sorted(self.columns),
            "cells_searched": self.cells,
            "not_checked": ["ages written inside free text (the scrubber removes them; the re-scan samples them)"],
        }
