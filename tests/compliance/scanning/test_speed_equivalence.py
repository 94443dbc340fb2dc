"""Speed measures of the scanner that must not change a single result: each faster path is checked
against the slower one it replaces, on values built to hit its edge cases."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest

from compliance.scanning.detect import names


def _regex_occurrences(needle: str, haystack: str) -> list[tuple[int, int]]:
    # what person_spans used before: a pattern compiled per row name
    return [m.span() for m in re.finditer(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack)]


def test_row_name_occurrences_are_the_regex_word_matches():
    cases = [
        ("olsen", "pt olsen called; olsens and bolsen are not, olsen_x is not, (olsen) is"),
        ("ana", "ana banana ana, anaana ana"),
        ("aa", "aaaa aa aaa aa"),  # overlapping candidates: non-overlapping, left to right
        ("müller", "frau müller, müllers, müller2, _müller, émüller, müller."),
        ("o'neil", "o'neil's o'neil"),
        ("jo", "jo\u0301 jo jo\u00b2 jo\u0663 jo"),  # combining mark, superscript and Arabic-Indic digits
        ("marta olsen", "left voicemail for marta olsen, marta olsenx, xmarta olsen"),
    ]
    for needle, haystack in cases:
        assert names._word_occurrences(needle, haystack) == _regex_occurrences(needle, haystack), needle
    rng = random.Random(7)
    alphabet = "ab _-.'\u00e9\u0301\u00b2\u0663x1"
    for _ in range(5000):
        needle = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        haystack = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert names._word_occurrences(needle, haystack) == _regex_occurrences(needle, haystack), (needle, haystack)


def test_row_names_do_not_compile_a_pattern_per_row(monkeypatch):
    patterns: list[str] = []
    real = re.finditer

    def spy(pattern, string, flags=0):
        patterns.append(pattern)
        return real(pattern, string, flags)

    monkeypatch.setattr(re, "finditer", spy)
    spans = names.person_spans("Left voicemail for Marta Olsen; pt olsen agreed", known=["Marta Olsen", "Marta", "Olsen"])
    assert ("PERSON", "RowIdentifierRecognizer", 0.95, 19, 30) in spans
    assert ("PERSON", "RowIdentifierRecognizer", 0.75, 35, 40) in spans  # "pt olsen": a part after a context word
    assert not [p for p in patterns if "olsen" in str(p).lower()]


@pytest.mark.django_db
def test_engine_keeps_phonenumbers_patterns(engine):
    # the engine turns on phonenumbers' own pattern cache: the regions' metadata patterns are compiled
    # once per process instead of falling out of re's 512-entry cache
    from phonenumbers import re_util

    assert re_util._COMPILED_PATTERNS is not None
    engine.analyze_structured("+49 30 901820", frozenset())
    assert phonenumbers.is_valid_number(phonenumbers.parse("+49 30 901820"))
    assert re_util._COMPILED_PATTERNS


@pytest.mark.django_db
def test_deny_list_word_gate_never_skips_a_match(engine):
    from compliance.scanning import engine as engine_module
    from compliance.scanning import gazetteer

    rng = random.Random(11)
    for key in ("PlaceGazetteerRecognizer", "NrpGazetteerRecognizer"):
        recognizer = engine.recognizers[key]
        gate = engine._gates[id(recognizer)]
        assert gate.words, key  # the word gate is on for the deny-list recognizers
        full = tuple(gate)  # the same patterns without the word lookup
        words = list(gazetteer.PLACES if key.startswith("Place") else gazetteer.NRP_TERMS)
        values = []
        for _ in range(3000):
            word = rng.choice(words)
            word = rng.choice([word, word.upper(), word.lower(), word.title(), word.swapcase()])
            before = rng.choice(["", " ", "in ", "x", "(", "-", "_", "1", "\n", "Left for "])
            after = rng.choice(["", " ", ".", "s", "x", ")", "-", "_", "2", "\n", " today"])
            values.append(before + word + after)
            values.append(before + word[: max(1, len(word) - 1)] + after)
        values += ["", " ", "Espresso Grinder", "Port Aldenville", "No issues reported this week.", "Zürich", "Köln Süd"]
        skipped = 0
        for value in values:
            if engine_module._gate_passes(full, value):
                assert engine_module._gate_passes(gate, value), (key, value)
            skipped += not engine_module._gate_passes(gate, value)
            with_gate: list = []
            engine._run(key, value, with_gate, True)
            assert with_gate == [
                (r.entity_type, recognizer.name, float(r.score), r.start, r.end)
                for r in recognizer.analyze(value, recognizer.supported_entities, None)
            ], (key, value)
        assert skipped > 100


@pytest.mark.django_db
def test_is_clear_decides_one_tally_at_both_scales(engine, people):
    from compliance.datasets.sources import DataFrameSource
    from compliance.scanning import decision
    from compliance.scanning.analysis import scan_chunk

    chunk = scan_chunk(DataFrameSource(people), None, k=300, seed=3)
    for hints in (True, False):
        for name, column in chunk["columns"].items():
            for n in (40, 120, 300):
                part = dict(column, samples=column["samples"][:n])
                high = {f["type"] for f in decision.decide_column(name, part, column_hints=hints, scale=1.5)}
                low = {f["type"] for f in decision.decide_column(name, part, column_hints=hints, scale=0.6)}
                assert decision.is_clear(name, part, column_hints=hints) == (high == low), (name, n, hints)


def test_engine_objects_are_left_out_of_garbage_collections(engine):
    import gc

    assert gc.get_freeze_count() > 100_000  # spaCy, Presidio and the word lists, frozen at engine load
