"""Verification of an anonymized output: what survives, searched in every output cell.

Contract (read by compliance/evidence/collect/claims.py; docs/policies.md "Verification"):
``report["verification"] = {"checks": [{"name", "covers", "found", "complete", "by_column",
"not_checked"}], "skipped": [{"name", "reason"}]}``.

* **identifier value search** -- every original value of every identifier column of the table
  (values of at least 3 characters) and its partial forms (each part of a name, a street without
  its number or unit and with its suffix written either way, a phone without its extension, ...; :mod:`compliance.anonymization.known`), and the
  full dates of the date columns generalized to a year, are searched in *every* output cell of
  *every* column, as a case-insensitive substring bounded by non-alphanumeric characters (so
  ``Ann`` is not found in ``planned``, but is in ``saw Ann today``); phone numbers, SSNs and other
  values made mostly of digits are also searched by their digits (``(490) 736-7125`` is found as
  ``490.736.7125``). Aho-Corasick automata over all values; counts per output column.
* **ages over 89** -- every output cell of the age-bearing columns (dates of birth, other dates
  generalized to years, ages): a year 90 or more years before the reference year, or an age over
  89, is a finding (45 CFR 164.514(b)(2)(i)(C)).

Both read every output row (``complete``). The report holds column names and counts, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from compliance.anonymization import known

VALUE_SEARCH = "identifier value search (every output cell)"
AGES_CHECK = "ages over 89 (every age-bearing output cell)"
FREE_TEXT = "free_text"
AGES_OVER_89 = "ages_over_89"
AGE_BEARING = frozenset({"DATE_OF_BIRTH", "DATE_TIME", "AGE"})
OPAQUE_OPERATORS = frozenset({"surrogate", "hmac", "encrypt_siv", "encrypt_gcm"})
MIN_TEXT = known.MIN_TEXT
MIN_DIGITS = known.MIN_DIGITS
NUMERIC_TYPES = known.NUMERIC_TYPES
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


@dataclass
class ValueSearch:
    """Collects the original identifier values of a table (:class:`known.KnownValues`, with their
    partial forms), then searches output chunks for them."""

    covers: set[str] = field(default_factory=set)
    columns: list[str] = field(default_factory=list)
    known: known.KnownValues = field(default_factory=known.KnownValues)
    by_column: dict[str, int] = field(default_factory=dict)
    cells: int = 0
    # Output columns written by an operator that emits random or keyed tokens (surrogate, hmac,
    # encryption): a value can only appear there by chance, so they are named in not_checked.
    opaque: dict[str, str] = field(default_factory=dict)
    date_columns: list[str] = field(default_factory=list)

    def collect(self, series: pd.Series, *, entity_type: str | None = None, column: str | None = None) -> None:
        """Add a chunk of an identifier column's original values (and partial forms)."""
        self.known.collect(series, entity_type=entity_type, column=column if column is not None else str(series.name))

    def collect_dates(self, series: pd.Series, *, entity_type: str, column: str | None = None) -> None:
        """Add a chunk of a date column generalized to a year: its full dates are identifiers."""
        name = column if column is not None else str(series.name)
        if name not in self.date_columns:
            self.date_columns.append(name)
        self.known.collect_dates(series, entity_type=entity_type, column=name)

    @property
    def distinct_values(self) -> int:
        return self.known.distinct_values

    def search(self, frame: pd.DataFrame) -> None:
        """Count, per output column, the cells holding at least one original identifier value."""
        names = [n for n in frame.columns if str(n) not in self.opaque]
        self.cells += int(frame[names].size)
        if not self.known:
            return
        for name in names:
            values = frame[name].dropna()
            if values.empty:
                continue
            # Distinct cells once (a year, a ZIP3 or "<PERSON>" repeats), weighted by how often each occurs.
            codes, uniques = pd.factorize(values.astype(str))
            hits = self.known.hit_cells(list(uniques))
            if hits:
                found = int(np.bincount(codes, minlength=len(uniques))[sorted(hits)].sum())
                self.by_column[str(name)] = self.by_column.get(str(name), 0) + found

    def as_check(self) -> dict[str, Any]:
        return {
            "name": VALUE_SEARCH,
            "covers": sorted(self.covers | {FREE_TEXT}),
            "found": sum(self.by_column.values()),
            "complete": True,
            "by_column": dict(sorted(self.by_column.items())),
            "identifier_columns": list(self.columns),
            "date_columns": list(self.date_columns),
            "distinct_values_searched": self.distinct_values,
            "values": self.known.as_dict(),
            "cells_searched": self.cells,
            "not_checked": [
                *(f"column {c} (opaque {op} tokens)" for c, op in sorted(self.opaque.items())),
                f"values shorter than {MIN_TEXT} characters (2-letter names are searched as written only: "
                f"'Jo', not 'JO' or 'jo'), numbers shorter than {MIN_DIGITS} digits",
                "lower-case forms of name parts and places that are common English words, and of street names "
                "written without their suffix "
                f"({self.known.as_dict()['common_words_matched_with_capital_only']} forms searched with their capital only)",
                "identifiers that were never in an identifier column of this table (free text is also scrubbed "
                "by the recognizers, and re-scanned on a sample)",
                "misspelt names, nicknames and initials",
                "a street name written alone when it is itself a street suffix or directional word (Park, Hill, North)",
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
