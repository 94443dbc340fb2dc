"""How much free-text scrubbing removed: identifier words, and the other words it took with them.

For every distinct free-text value a run scrubs, the words of the original (``\\w+`` runs) are
aligned with the words of the scrubbed text (``difflib``, placeholders such as ``<PERSON>`` are
not words); a word of the original with no counterpart was removed. A word is a *known
identifier word* when it lies inside a value the table itself holds (``known.KnownValues.spans``
on the original). The run reports (``report["free_text"]``, docs/policies.md "Over-redaction"):

* ``known_identifier_words`` and how many of them were removed (all, when scrubbing is complete);
* ``other_words`` and ``other_words_removed``: words that are not a value of the table, removed by
  the recognizers; ``over_redaction_share`` = ``other_words_removed / other_words``. It is an upper
  bound of the share of non-identifying words removed: an identifier the table does not hold (a
  clinician's name, a date written in a note) counts as an "other" word here. ``bench/anonymize.py``
  measures the exact share on notes whose identifier spans are labelled.

Counts only; never a word.
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from compliance.anonymization.known import PLACEHOLDER

WORD = re.compile(r"\w+")


def removed_words(original: str, scrubbed: str) -> list[tuple[int, int, bool]]:
    """``(start, end, removed)`` for every word of ``original``, aligned against ``scrubbed``."""
    words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(original)]
    kept_words = WORD.findall(PLACEHOLDER.sub(" ", scrubbed))
    kept = [False] * len(words)
    matcher = difflib.SequenceMatcher(None, [w for _, _, w in words], kept_words, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.a, block.a + block.size):
            kept[i] = True
    return [(start, end, not k) for (start, end, _), k in zip(words, kept, strict=True)]


def inside(spans: list[tuple[int, int, Any]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted, non-overlapping ``spans``."""
    i = bisect.bisect_right([s[0] for s in spans], start) - 1
    return any(0 <= j < len(spans) and spans[j][0] < end and start < spans[j][1] for j in (i, i + 1))


@dataclass
class Tally:
    texts: int = 0
    words: int = 0
    known_identifier_words: int = 0
    known_identifier_words_removed: int = 0
    other_words_removed: int = 0

    def add(self, other: Tally) -> None:
        for name in ("texts", "words", "known_identifier_words", "known_identifier_words_removed", "other_words_removed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        other = self.words - self.known_identifier_words
        return {
            "texts": self.texts,
            "words": self.words,
            "known_identifier_words": self.known_identifier_words,
            "known_identifier_words_removed": self.known_identifier_words_removed,
            "other_words": other,
            "other_words_removed": self.other_words_removed,
            "over_redaction_share": round(self.other_words_removed / other, 4) if other else 0.0,
        }


@dataclass
class TextStats:
    """The tally of one run, per free-text column and overall."""

    by_column: dict[str, Tally] = field(default_factory=dict)

    def add(self, originals: list[str], outputs: list[str], *, known: Any, column: str) -> None:
        tally = self.by_column.setdefault(column, Tally())
        for original, output in zip(originals, outputs, strict=True):
            if not isinstance(original, str) or not original:
                continue
            spans = known.spans(original) if known else []
            tally.texts += 1
            for start, end, removed in removed_words(original, output if isinstance(output, str) else ""):
                tally.words += 1
                if spans and inside(spans, start, end):
                    tally.known_identifier_words += 1
                    tally.known_identifier_words_removed += removed
                else:
                    tally.other_words_removed += removed

    def as_dict(self, columns: list[str]) -> dict[str, Any]:
        total = Tally()
        for tally in self.by_column.values():
            total.add(tally)
        return {
            "columns": list(columns),
            "counted_over": "distinct free-text values",
            **total.as_dict(),
            "by_column": {name: tally.as_dict() for name, tally in sorted(self.by_column.items())},
            "over_redaction_is": "an upper bound: words that are not a value of this table, removed by the recognizers "
            "(identifiers the table does not hold count here too)",
        }
