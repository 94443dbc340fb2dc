"""Concurrency on PostgreSQL: 8 processes appending 2,000 events each at once, committing with
the production after-commit sequencing, leave a verifiable log of exactly 16,000 events: no gap,
no fork, nothing lost. Each transaction records 10 events, as a request whose change touches
several objects does. (SQLite serialises writers by design; the second CI pass runs this.
Measured: 140 s on a 2-core machine shared with a load average of 12; the writers are CPU-bound,
so an idle machine takes a fraction of that.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from audit import verification
from audit.keys import trusted_verifiers
from audit.models import AuditEvent, LedgerEntry, PendingEvent
from audit.sequencer import sequence_pending
from audit.verification import verify_ledger
from audit.verify_core import b64

REPO = Path(__file__).resolve().parents[2]
PROCESSES, EVENTS, PER_TRANSACTION = 8, 2000, 10

WRITER = """
import django, sys
django.setup()
from django.db import connection, transaction
from audit.services import record
# Durability of each commit is not under test here; don't make 16,000 fsyncs the bottleneck.
connection.cursor().execute("SET synchronous_commit TO off")
worker, events, per_txn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for start in range(0, events, per_txn):
    with transaction.atomic():  # like a request whose change records a few events
        for i in range(start, min(start + per_txn, events)):
            record(actor="writer-" + worker, action="test.concurrent", target_type="tests.worker", target_id=worker, details={"i": i})
"""


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_eight_processes_appending_at_once_leave_one_contiguous_verifiable_log(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...); runs in the PostgreSQL pass of .ci/run")
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": url, "CUSTOS_ENV": "test", "DJANGO_SETTINGS_MODULE": "config.settings"}
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(EVENTS), str(PER_TRANSACTION)], cwd=REPO, env=env, stderr=subprocess.PIPE
        )
        for n in range(PROCESSES)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=170)
        assert proc.returncode == 0, err.decode()[-2000:]
    elapsed = time.monotonic() - started
    sequence_pending()  # the backstop run (periodic task in production) for lost wake-ups
    assert PendingEvent.objects.count() == 0
    assert AuditEvent.objects.count() == LedgerEntry.objects.count() == PROCESSES * EVENTS
    assert list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(PROCESSES * EVENTS))
    for n in range(PROCESSES):
        mine = AuditEvent.objects.filter(target_id=str(n)).order_by("id").values_list("details__i", flat=True)
        assert list(mine) == list(range(EVENTS))
    report = verify_ledger(connection, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN)
    assert report.ok and report.size == PROCESSES * EVENTS, [str(p) for p in report.problems]
    # The command as an operator runs it: committed data, so worker processes and the cross-check
    # thread read on connections of their own (chunks of 4,096 entries: 4 tasks for 2 workers).
    monkeypatch.setattr(verification, "CHUNK_BITS", 12)
    out = StringIO()
    call_command("audit_verify", "--workers", "2", stdout=out)
    assert out.getvalue().strip() == f"OK {PROCESSES * EVENTS} {b64(report.root)}"
    print(f"{PROCESSES}x{EVENTS} events in {elapsed:.1f}s")
