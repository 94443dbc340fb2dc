"""The verifier on the live database through Django's connection (what ``audit_verify`` does inside
an open transaction: rows read through the driver, hashed natively when the module is built)
names the entry at fault exactly as the tamper matrix on a copy does, on both databases."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from audit.keys import trusted_verifiers
from audit.verification import verify_ledger
from tests.audit.conftest import add_events, triggers_off

pytestmark = pytest.mark.django_db


def _verify():
    return verify_ledger(connection, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (None, None),
        (
            "UPDATE audit_ledgerentry SET body = body || '\\x20'::bytea WHERE seq = 11",
            "seq 11: body does not hash to its stored leaf hash",
        ),
        ("UPDATE audit_ledgerentry SET leaf_hash = %s WHERE seq = 12", "seq 12: body does not hash to its stored leaf hash"),
        ("DELETE FROM audit_ledgerentry WHERE seq = 13", "seq 13: missing: the log has no entry 13 (it jumps from 12)"),
    ],
)
def test_the_live_log_is_verified_and_a_tampered_entry_named(ledger_key, tamper, expected):
    add_events(20)
    if tamper:
        if connection.vendor == "sqlite":
            tamper = tamper.replace("'\\x20'::bytea", "x'20'")
        with triggers_off() as cursor:
            cursor.execute(tamper, [b"\x00" * 32] if "%s" in tamper else None)
    report = _verify()
    if expected is None:
        assert report.ok and report.size == 20, [str(p) for p in report.problems]
    else:
        assert str(report.first_problem).startswith(expected)
