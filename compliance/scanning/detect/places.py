"""The shape of place names, for places no word list holds (``Port Aldenville``, ``East Marisa``,
``Jenniferville``, ``Bad Kissingen``, ``Saint-Étienne-sur-Mer``).

A place *prefix* (``North``, ``Port``, ``Lake``, ``San``, ``Bad`` ...) before a capitalised word, or a
single token ending in a place *suffix* (``-ville``, ``-burgh``, ``-chester``, ``-mouth``, ``-dorf``
...), or a French ``-sur-``/``-lès-`` compound. It is evidence, not proof: a column decides LOCATION
from it only with a majority of its cells (or the column name), see :mod:`compliance.scanning.decision`.
"""

from __future__ import annotations

import re

PREFIXES = ("North", "South", "East", "West", "New", "Port", "Lake", "Fort", "Mount", "Mt.", "St.", "Ste.", "Saint",
            "Sainte", "San", "Santa", "Santo", "São", "Los", "Las", "Los", "El", "Bad", "Palm", "Grand", "Little",
            "Great", "Upper", "Lower", "Old", "Nieder", "Ober", "Alt", "Neu", "Groß", "Klein", "Villa", "Puerto",
            "Porto", "Castel", "Monte", "Bella", "Isla", "Cape", "Point")  # fmt: skip
SUFFIXES = ("ville", "villa", "burg", "burgh", "borough", "boro", "bury", "chester", "caster", "cester", "town",
            "mouth", "haven", "shire", "stad", "stadt", "furt", "fort", "dorf", "hausen", "heim", "ingen", "leben",
            "brück", "brücken", "berg", "stead", "wick", "worth", "field", "ford", "view", "side", "port", "land",
            "polis", "grad", "sk", "ów", "owo", "ice", "ec")  # fmt: skip
_PREFIX = re.compile(r"^(?:" + "|".join(re.escape(p) for p in sorted(set(PREFIXES), key=len, reverse=True)) + r")[ -][A-ZÀ-Ý]")
_SUFFIX = re.compile(r"^[A-ZÀ-Ý][^\W\d_]{2,}(?:" + "|".join(sorted(set(SUFFIXES), key=len, reverse=True)) + r")$")
_COMPOUND = re.compile(r"^[A-ZÀ-Ý][^\W\d_]+(?:-[^\W\d_]+)*-(?:sur|lès|les|en|le|la|sous|am|an|im|bei|upon|on)-[A-ZÀ-Ý]")


def place_shape(value: str) -> bool:
    """Whether ``value`` (one short cell or a capitalised run of free text) is shaped like a place."""
    v = value.strip()
    if not v or len(v) > 60 or any(c.isdigit() for c in v):
        return False
    if _PREFIX.match(v) or _COMPOUND.match(v):
        return True
    return " " not in v and _SUFFIX.match(v) is not None


def suffix_shape(value: str) -> bool:
    """A single capitalised token with a place suffix (weaker: ``Hamilton``, ``Holland`` are surnames)."""
    v = value.strip()
    return " " not in v and _SUFFIX.match(v) is not None
