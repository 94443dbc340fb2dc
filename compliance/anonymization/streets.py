"""The forms a street address is written in, for the known values (:mod:`compliance.anonymization.known`).

A row's ``street_address`` holds ``40157 Oneal Flat Apt. 4``; its notes say "lives on Oneal Flat",
"40157 Oneal Flt" or "Oneal". :func:`street_forms` gives the forms to look for:

* the street without its house number and secondary unit (``Oneal Flat``), and with the house
  number but no unit (``40157 Oneal Flat``);
* the street suffix as written, as the USPS standard abbreviation and in full (``Flat`` /
  ``Flt``, ``Street`` / ``St``, ``Av`` / ``Ave`` / ``Avenue``), with and without the house number;
* a directional before or after the name as written, swapped (``N`` / ``North``) and left out;
* the bare street name (``Oneal``) when the address has a suffix, the name holds no digit and is
  not itself a suffix or directional word (``Park``, ``Spring``, ``North``): matched with its
  capital only (:attr:`StreetForms.bare`), since a street named ``Hospital`` or ``Market`` is an
  everyday word in lower case.

The suffix, unit-designator and directional tables are USPS Publication 28 (appendices C1 and C2)
as kept by ``usaddress-scourgify`` (MIT; ``scourgify.address_constants``), not a list of our own:
the old unit pattern read ``Flat`` as the unit designator ``Fl`` followed by ``at`` and kept only
``40157 Oneal`` (bench/anonymize.py's one real leak). A unit is a designator (``Apt``, ``Suite``,
``Fl``, ``#``, ... as a whole word) followed by an identifier holding a digit or a single letter,
at the end of the value.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache

_HOUSE_NUMBER = re.compile(r"^\s*(\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?(?:\s+1/2)?)\s+")
_UNIT_ID = r"(?:(?=[\w-]*\d)[\w-]+|[A-Za-z](?![\w-]))"


@dataclass(frozen=True)
class _Tables:
    suffix: dict[str, str]  # any written form (upper case) -> USPS standard abbreviation
    longhand: dict[str, str]  # standard abbreviation -> the suffix in full
    directional: dict[str, str]  # NORTH -> N and N -> NORTH
    unit: re.Pattern[str]


@lru_cache(maxsize=1)
def tables() -> _Tables:
    from scourgify.address_constants import (
        DIRECTIONAL_REPLACEMENTS,
        LONGHAND_STREET_TYPES,
        OCCUPANCY_TYPE_ABBREVIATIONS,
        STREET_TYPE_ABBREVIATIONS,
    )

    suffix = {k: v for k, v in STREET_TYPE_ABBREVIATIONS.items() if " " not in k}
    longhand = dict(LONGHAND_STREET_TYPES)
    for written, abbreviation in suffix.items():
        # a few abbreviations (CV, GRN, ...) have no long form in the table: the longest written form
        if len(written) > len(longhand.get(abbreviation, "")) and abbreviation not in LONGHAND_STREET_TYPES:
            longhand[abbreviation] = written
    directional = dict(DIRECTIONAL_REPLACEMENTS) | {v: k for k, v in DIRECTIONAL_REPLACEMENTS.items()}
    designators = sorted(
        {d for pair in OCCUPANCY_TYPE_ABBREVIATIONS.items() for d in pair if d != "#"} | {"APT", "STE", "SUITE"},
        key=len,
        reverse=True,
    )
    unit = re.compile(
        r"(?:[\s,]+(?:" + "|".join(map(re.escape, designators)) + r")\b\.?(?:\s*#)?|\s*#)\s*" + _UNIT_ID + r"\s*$",
        re.I,
    )
    return _Tables(suffix, longhand, directional, unit)


def _word(text: str) -> str:
    return text.strip(".,").upper()


def _title(form: str) -> str:
    return form[:1] + form[1:].lower()


@dataclass
class StreetForms:
    """The forms of one address: ``forms`` are matched like any value, ``bare`` with capitals only."""

    forms: set[str] = field(default_factory=set)
    bare: str | None = None


def street_forms(address: str) -> StreetForms:
    """The forms of ``address`` to look for in free text (see the module doc); the whole value is
    not among them (the caller keeps it)."""
    t = tables()
    text = " ".join(address.split())
    without_unit = text
    for _ in range(2):  # "Apt 4, Bldg 2"
        stripped = t.unit.sub("", without_unit).rstrip(" ,")
        if stripped == without_unit:
            break
        without_unit = stripped
    number_match = _HOUSE_NUMBER.match(without_unit)
    number = number_match.group(1) if number_match else ""
    street = without_unit[number_match.end() :] if number_match else without_unit
    words = street.split()
    result = StreetForms()
    if not words:
        return result
    post = pre = suffix = None
    if len(words) >= 3 and _word(words[-1]) in t.directional and _word(words[-2]) in t.suffix:
        post, words = words[-1], words[:-1]
    if len(words) >= 2 and _word(words[-1]) in t.suffix:
        suffix, words = words[-1], words[:-1]
    if len(words) >= 2 and _word(words[0]) in t.directional:
        pre, words = words[0], words[1:]
    name = " ".join(words)

    def variants(word: str | None, kind: str) -> list[str]:
        if word is None:
            return [""]
        key = _word(word)
        if kind == "suffix":
            abbreviation = t.suffix[key]
            return [word, _title(abbreviation), _title(t.longhand.get(abbreviation, abbreviation))]
        return [word, _title(t.directional[key]), ""]

    for p, s, q in itertools.product(variants(pre, "dir"), variants(suffix, "suffix"), variants(post, "dir")):
        form = " ".join(w for w in (p, name, s, q) if w)
        result.forms.add(form)
        if number and p == (pre or "") and q == (post or ""):  # the number with every suffix form, directionals as written
            result.forms.add(f"{number} {form}")
    if without_unit != text:
        result.forms.add(without_unit)
    if suffix is None and pre is None and post is None and len(words) == 1:
        result.forms.discard(name)  # "40157 Broadway": the one word is matched as a bare name
    result.forms.discard(text)
    plain = not any(c.isdigit() for c in name) and not all(_word(w) in t.suffix or _word(w) in t.directional for w in words)
    if plain and (suffix is not None or len(words) == 1):
        result.bare = name
    return result
