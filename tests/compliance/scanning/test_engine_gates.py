"""The engine skips a Presidio pattern recognizer on a value none of its patterns occurs in (a
plain regex search, compiled as Presidio compiles them). That is a speed measure only: every
recognizer must report exactly what it reports without the gate, on matching and non-matching
values, structured cells and free text alike."""

from __future__ import annotations

import pandas as pd
import pytest

from compliance.scanning import engine as engine_module

TEXTS = [
    "member called from 415-555-0100, ssn 910-45-6700 on file, reply to user0@example.com.",
    "Left voicemail for Marta Olsen at (212) 555-0147 x45 about invoice 2024-03-07; MRN-1234567 noted.",
    "Patient seen 03/04/2025 at 12 Main St, Springfield; card 4111 1111 1111 1111, IBAN DE89370400440532013000.",
    "NIF 12345678Z and NIE X1234567L on the form, fiscal code RSSMRA85T10A562S, NINO AB123456C.",
    "No issues reported this week. " * 5,  # longer than the untimed gate length, no match
    "http://www.example.org/path?q=1 from 192.168.10.4 and 2001:db8::1",
]


def values(people: pd.DataFrame) -> list[str]:
    cells = [str(v) for column in people.columns for v in people[column].dropna().head(60)]
    return cells + TEXTS + ["", " ", "x", "00000", "12345", "Espresso Grinder", "Port Aldenville", "AB 12 34 56 C"]


@pytest.mark.django_db
def test_gated_recognizers_report_exactly_what_presidio_reports(engine, people):
    gated = [(key, r) for key, r in engine.recognizers.items() if id(r) in engine._gates]
    assert {"nhs", "date", "email", "ssn", "es_nif", "PlaceGazetteerRecognizer"} <= {k for k, _r in gated}
    assert "iban" not in {k for k, _r in gated}  # IbanRecognizer has its own analyze(): never gated
    skipped = 0
    for value in values(people):
        for key, recognizer in gated:
            for spans in (False, True):
                with_gate: list = []
                engine._run(key, value, with_gate, spans)
                without: list = []
                gates, engine._gates = engine._gates, {}
                try:
                    engine._run(key, value, without, spans)
                finally:
                    engine._gates = gates
                assert with_gate == without, (key, value, spans)
            skipped += not engine_module._gate_passes(engine._gates[id(recognizer)], value)
    assert skipped > 1000  # the gate does skip most recognizer calls on these values


@pytest.mark.django_db
def test_long_values_are_searched_with_presidios_timeout(engine, monkeypatch):
    calls: list = []
    gate = engine._gates[id(engine.recognizers["email"])]

    class Spy:
        def search(self, value, timeout=None):
            calls.append(timeout)
            return gate[0].search(value)

    long = "reply to user0@example.com " * 5
    assert engine_module._gate_passes((Spy(),), long) and engine_module._gate_passes((Spy(),), "user0@example.com")
    from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS

    assert calls == [REGEX_TIMEOUT_SECONDS, None]
