"""The identifier values a table itself holds, with their partial forms, found inside any text.

One :class:`KnownValues` per run serves both sides of Safe Harbor's free-text promise:

* **scrubbing** (:meth:`KnownValues.scrub`): before the recognizers, every value of the table's
  identifier columns written in a free-text cell -- any row's, not only the row's own -- is
  replaced with ``<ENTITY_TYPE>``;
* **verification** (:meth:`KnownValues.hit_cells`, through ``verification.ValueSearch``): every
  output cell of every column is searched
  for every one of those values and the cells holding one are counted per output column.

What is a known value (``collect``):

* the whole value of every identifier column (3+ characters), case-insensitive;
* *partial forms*: each part of a name (``Marta`` and ``Olsen`` of ``Marta Olsen``; hyphenated
  parts; titles and suffixes such as ``Dr``/``Jr`` are not names; a 2-letter name such as ``Jo``
  is matched as written only), a street address without its
  house number and unit, its USPS suffix written either way and its directional either way
  (``Reed Plains``, ``Reed Plns`` and ``5341 Reed Plns`` of ``5341 Reed Plains Apt. 4``; the bare
  name ``Reed`` with its capital only; :mod:`compliance.anonymization.streets`), an e-mail's local part
  when it is long and specific (8+ characters with a digit or a dot), a phone number without its
  extension and with or without the leading ``1`` country code;
* numbers (phones, SSNs, MRNs, plan/account numbers, ...) also by their digits alone, so
  ``(490) 736-7125`` is found as ``490.736.7125`` or ``+1 490 736 7125``: a digit key matches a
  run of digits and separators (space, ``-``, ``.``, ``(``, ``)``, ``/``, ``+``) starting and
  ending where the text has a non-digit or a separator;
* dates of the table that a profile generalizes to a year (birth, admission, ... dates), written
  as ISO, ``11/30/1991``, ``30.11.1991`` and ``November 30, 1991``.

Matches are bounded by non-alphanumeric characters (``Ann`` is not found in ``planned``). A
value whose every word is a common English word (``Will``, ``May``, ``Will Hope``, ``Mobile``)
is matched with its capitals only (``May`` and ``MAY``, not ``may``), in scrubbing and search
alike; the check names this in ``not_checked``. Our own placeholders (``<PERSON>``) are never
read as values. Keys live in Aho-Corasick automata (pyahocorasick): one pass per text, whatever
the number of values.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import pandas as pd

from compliance.anonymization.streets import street_forms

MIN_TEXT = 3
MIN_DIGITS = 7
# Identifier types written with varying separators: searched in a digits-only view as well.
NUMERIC_TYPES = frozenset(
    {
        "PHONE_NUMBER",
        "FAX_NUMBER",
        "US_SSN",
        "US_NPI",
        "ACCOUNT_NUMBER",
        "US_BANK_NUMBER",
        "CREDIT_CARD",
        "UK_NHS",
        "MEDICAL_RECORD_NUMBER",
        "HEALTH_PLAN_NUMBER",
        "LICENSE_NUMBER",
        "UNIQUE_ID",
    }
)
NAME_TYPES = frozenset({"PERSON"})
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%-m/%-d/%Y", "%d.%m.%Y", "%B %d, %Y", "%B %-d, %Y", "%b %d, %Y")
NOT_NAMES = frozenset(
    {"dr", "mr", "mrs", "ms", "miss", "mx", "jr", "sr", "ii", "iii", "iv", "md", "phd", "dds", "dvm", "rn", "np", "pa", "do"}
)
# Words that are names (or places) and everyday English: matched with their capital only.
_COMMON_WORDS_TEXT = """
will may mark grant hope joy faith rose bill pat sue guy art major long young white black brown
green hall king park lane wood stone rich page price bell miles frank dawn april june august summer
ray case cook rice fox hunt cole gray grey low law lee love ross rush shore small snow strong swift
walker waters west north south east best bond carter chase cross dean drew duke ford gold hill holly
iris ivy jack jade lilly lily mason miller bishop baker banks barber bass bird booth bush butler
chance clay crane dale daisy day deal dock field fields fisher fleming free gill glass golden good
grace graves hale hardy hart hawk heath honey house hunter jewel judge keen kelly knight lamb lord
lucky marsh mayo meadows mercy moon moss nash noble norman oliver pace penny pine plant poll pond
pool porter power pratt ready reed reid rivers robin rock rogers rowe ruby sage salmon sand savage
say short silver sky skye sloan smart spring stark steel stern storm sun sweet tate terry todd tower
townsend trim tucker vale vance vaughn wall ward ware warren wells wise wolf woods wren york mobile
reading normal independence liberty unity justice march christian constance
"""
COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())
US_PREFIXES = frozenset({"", "1", "01", "001", "011"})
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
# Digits and the separators people write between them (never a newline: cells are joined by one).
_NUMBER_RUN = re.compile(r"\d(?:[ \t\u00a0\-.()/+]*\d)*")
_LONG_RUN = re.compile(r"\d(?:[ \t\u00a0\-.()/+]*\d){" + str(MIN_DIGITS - 1) + ",}")
_NON_DIGIT = re.compile(r"\D+")
_NAME_SPLIT = re.compile(r"[\s,]+")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension|#)\s*\d+\s*$", re.I)


def _stop_words() -> frozenset[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover - spaCy is a dependency of the scanner
        return frozenset()
    return frozenset(STOP_WORDS)


AMBIGUOUS = COMMON_WORDS | _stop_words()


def digits_of(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def mostly_digits(value: str) -> bool:
    digits = digits_of(value)
    return len(digits) >= MIN_DIGITS and len(digits) >= 0.6 * len(value.replace(" ", ""))


def _bounded(text: str, begin: int, end: int) -> bool:
    """``text[begin:end]`` is not part of a longer word or number."""
    return not ((begin > 0 and text[begin - 1].isalnum()) or (end < len(text) and text[end].isalnum()))


def _mask_placeholders(text: str) -> str:
    """Our own placeholders as spaces (same length, so offsets hold): ``<STREET_ADDRESS>`` is not a street."""
    return PLACEHOLDER.sub(lambda m: " " * len(m.group()), text) if "<" in text else text


def _lower(text: str) -> str:
    """Lower case with the offsets of ``text`` (a character whose lower case is longer stays as it is)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@dataclass
class KnownValues:
    """The identifier values of one table (see the module doc); ``collect`` first, then ``scrub`` or
    ``search``. Counts only, never values, leave it (``as_dict``)."""

    entities: list[str] = field(default_factory=list)
    _text: dict[str, int] = field(default_factory=dict)  # lower-case key -> entity index
    _exact: dict[str, int] = field(default_factory=dict)  # capitalised common word -> entity index
    _digits: dict[str, int] = field(default_factory=dict)  # digits key -> entity index
    by_source: dict[str, int] = field(default_factory=dict)  # source column -> keys it added
    partial_forms: dict[str, int] = field(default_factory=dict)  # kind -> keys
    _automata: tuple[Any, Any, Any] | None = None
    _dates_seen: set[str] = field(default_factory=set)

    # --- collecting -----------------------------------------------------------------------------

    def _entity(self, entity_type: str) -> int:
        if entity_type not in self.entities:
            self.entities.append(entity_type)
        return self.entities.index(entity_type)

    def _add_text(self, text: str, code: int, *, partial: str | None = None, exact: bool = False) -> int:
        """``text`` as a key: case-insensitive, or with its capitals only (as written, Title, UPPER)
        when every word is a common one or ``exact``."""
        text = text.strip(" \t\r\n,;:.'\"()")
        if len(text) < MIN_TEXT:
            return 0
        low = text.lower()
        if exact or all(word in AMBIGUOUS for word in low.split()):
            added = 0
            for form in {text, text.title(), text.upper()}:
                if form not in self._exact:
                    self._exact[form] = code
                    added += 1
        elif low not in self._text:
            self._text[low] = code
            added = 1
        else:
            return 0
        if partial and added:
            self.partial_forms[partial] = self.partial_forms.get(partial, 0) + added
        return added

    def _add_short(self, part: str, code: int) -> int:
        """A 2-letter name (``Jo``, ``Li``): as written only (``ED``, the emergency department, is not ``Ed``)."""
        if part in self._exact:
            return 0
        self._exact[part] = code
        self.partial_forms["2-letter names, as written"] = self.partial_forms.get("2-letter names, as written", 0) + 1
        return 1

    def _add_digits(self, digits: str, code: int, *, partial: str | None = None) -> int:
        if len(digits) < MIN_DIGITS or digits in self._digits:
            return 0
        self._digits[digits] = code
        if partial:
            self.partial_forms[partial] = self.partial_forms.get(partial, 0) + 1
        return 1

    def collect(self, series: pd.Series, *, entity_type: str | None, column: str | None = None) -> None:
        """Add a chunk of an identifier column's original values (and their partial forms)."""
        self._automata = None
        entity = entity_type or "IDENTIFIER"
        code = self._entity(entity)
        added = 0
        numeric = entity in NUMERIC_TYPES
        for value in pd.unique(series.dropna().astype(str)):
            text = value.strip()
            if not text:
                continue
            added += self._add_text(text, code)
            if numeric and mostly_digits(text):
                added += self._add_digits(digits_of(text), code)
            if entity in NAME_TYPES:
                parts = [p for p in _NAME_SPLIT.split(text) if p]
                pieces = parts + [q for p in parts if "-" in p for q in p.split("-")]
                for part in pieces:
                    part = part.strip(".,")
                    if part.lower() in NOT_NAMES:
                        continue
                    if len(part) == 2 and part.isalpha():
                        added += self._add_short(part, code)
                    elif len(pieces) > 1:
                        added += self._add_text(part, code, partial="name parts")
            elif entity == "STREET_ADDRESS":
                forms = street_forms(text)
                for form in sorted(forms.forms):
                    added += self._add_text(form, code, partial="street forms (number, unit, USPS suffix, directional)")
                if forms.bare:
                    added += self._add_text(forms.bare, code, partial="street name alone (with its capital)", exact=True)
            elif entity in ("PHONE_NUMBER", "FAX_NUMBER"):
                base = _EXTENSION.sub("", text)
                digits = digits_of(base)
                if base != text:
                    added += self._add_text(base, code, partial="phone without extension")
                # North American numbers: the 10 national digits, with or without 1 / 001 / 011 before them.
                if len(digits) >= 10 and digits[:-10] in US_PREFIXES:
                    national = digits[-10:]
                    for form in sorted({national, "1" + national} - {digits_of(text)}):
                        added += self._add_digits(form, code, partial="phone without extension or country code")
            elif entity == "EMAIL_ADDRESS" and "@" in text:
                local = text.split("@", 1)[0]
                if len(local) >= 8 and re.search(r"[\d._]", local):
                    added += self._add_text(local, code, partial="e-mail local part")
        if column is not None:
            self.by_source[column] = self.by_source.get(column, 0) + added

    def collect_dates(self, series: pd.Series, *, entity_type: str, column: str | None = None) -> None:
        """Add a chunk of a date column that the profile generalizes to a year, in the usual ways of
        writing a date (see ``DATE_FORMATS``)."""
        from compliance.policies.operators import parse_dates

        self._automata = None
        code = self._entity(entity_type)
        uniques = [u for u in pd.unique(series.dropna().astype(str)) if u not in self._dates_seen]
        self._dates_seen.update(uniques)
        parsed = parse_dates(uniques).dropna().unique()
        added = 0
        for fmt in DATE_FORMATS:
            try:
                forms = parsed.strftime(fmt.replace("%-", "%"))
            except ValueError:  # pragma: no cover - strftime of a valid DatetimeIndex
                continue
            if "%-" in fmt:  # no leading zeros ("3/7/1991", "March 7, 1991")
                forms = [re.sub(r"(?<![\d])0(\d)", r"\1", f) for f in forms]
            for form in forms:
                added += self._add_text(form, code)
        if column is not None:
            self.by_source[column] = self.by_source.get(column, 0) + added

    @property
    def distinct_values(self) -> int:
        return len(self._text) + len(self._exact) + len(self._digits)

    def __bool__(self) -> bool:
        return bool(self._text or self._exact or self._digits)

    # --- matching -------------------------------------------------------------------------------

    def _build(self) -> tuple[Any, Any, Any]:
        if self._automata is None:
            automata = []
            for keys in (self._text, self._exact, self._digits):
                automaton = ahocorasick.Automaton()
                for key, code in keys.items():
                    automaton.add_word(key, (len(key), code))
                if len(automaton):
                    automaton.make_automaton()
                automata.append(automaton if len(automaton) else None)
            self._automata = tuple(automata)  # type: ignore[assignment]
        return self._automata  # type: ignore[return-value]

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, entity_type)`` of the known values in ``text`` (longest
        first, then leftmost)."""
        if not text:
            return []
        lower_auto, exact_auto, digit_auto = self._build()
        view = _mask_placeholders(text)
        found: list[tuple[int, int, int]] = []
        if lower_auto is not None:
            lowered = _lower(view)
            for end, (length, code) in lower_auto.iter(lowered):
                begin = end - length + 1
                if _bounded(lowered, begin, end + 1):
                    found.append((begin, end + 1, code))
        if exact_auto is not None:
            for end, (length, code) in exact_auto.iter(view):
                begin = end - length + 1
                if _bounded(view, begin, end + 1):
                    found.append((begin, end + 1, code))
        if digit_auto is not None:
            found.extend(self._digit_spans(view, digit_auto))
        if not found:
            return []
        found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        merged: list[list[int]] = []
        for begin, end, code in found:
            if merged and begin < merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
                continue
            merged.append([begin, end, code])
        return [(b, e, self.entities[c]) for b, e, c in merged]

    @staticmethod
    def _digit_spans(text: str, automaton: Any, runs: re.Pattern[str] = _NUMBER_RUN) -> list[tuple[int, int, int]]:
        """Digit keys inside runs of digits and separators: a match starts at the run's start or
        after a separator and ends at the run's end or before one, and the run is not glued to a
        letter (``x``/``ext`` extensions aside)."""
        spans = []
        for run in runs.finditer(text):
            start, stop = run.span()
            if start > 0 and text[start - 1].isalpha() and text[start - 1] not in "xX#":
                continue
            positions = [start + i for i, ch in enumerate(run.group()) if ch.isdigit()]
            digits = "".join(text[p] for p in positions)
            if len(digits) < MIN_DIGITS:
                continue
            cuts = {0, len(digits)} | {i for i in range(1, len(digits)) if positions[i] != positions[i - 1] + 1}
            for end, (length, code) in automaton.iter(digits):
                begin = end - length + 1
                if begin in cuts and end + 1 in cuts:
                    spans.append((positions[begin], positions[end] + 1, code))
        return spans

    def scrub(self, text: str) -> str:
        """``text`` with every known value replaced by ``<ENTITY_TYPE>``."""
        spans = self.spans(text)
        for begin, end, entity in reversed(spans):
            text = text[:begin] + f"<{entity}>" + text[end:]
        return text

    def scrub_texts(self, texts: list[str]) -> list[str]:
        return [self.scrub(t) if isinstance(t, str) else t for t in texts]

    def hit_cells(self, cells: list[str]) -> set[int]:
        """Indexes of the ``cells`` holding at least one known value (the verification's count),
        in one pass per automaton over the cells joined by newlines."""
        lower_auto, exact_auto, digit_auto = self._build()
        hit: set[int] = set()
        if not cells:
            return hit
        joined = _mask_placeholders("\n".join(cells))
        starts = [0, *itertools.accumulate(len(cell) + 1 for cell in cells[:-1])]
        for automaton, view in ((lower_auto, _lower(joined) if lower_auto is not None else ""), (exact_auto, joined)):
            if automaton is None:
                continue
            for end, (length, _code) in automaton.iter(view):
                begin = end - length + 1
                if _bounded(view, begin, end + 1):
                    hit.add(bisect.bisect_right(starts, begin) - 1)
        if digit_auto is not None:
            for begin, _end, _code in self._digit_spans(joined, digit_auto, _LONG_RUN):
                hit.add(bisect.bisect_right(starts, begin) - 1)
        return hit

    def count_cells(self, cells: list[str]) -> int:
        return len(self.hit_cells(cells))

    def as_dict(self) -> dict[str, Any]:
        return {
            "distinct_values": self.distinct_values,
            "by_source_column": dict(sorted(self.by_source.items())),
            "partial_forms": dict(sorted(self.partial_forms.items())),
            "common_words_matched_with_capital_only": len(self._exact),
            "digit_forms": len(self._digits),
        }
