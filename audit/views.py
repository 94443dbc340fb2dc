"""The ledger's page actions: an auditor verifies the stored ledger from the dashboard.

``ledger_verify`` is the service (it checks the actor and audits the check); the view is a thin
caller. It runs exactly what ``manage.py audit_verify`` runs (``audit.verification.verify_ledger``
over the whole stored log, with the trusted keys and the configured origin, after sequencing
pending events) and says what was checked and what was not (docs/ledger.md section 8).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import AUDIT, require
from audit.keys import trusted_verifiers
from audit.sequencer import sequence_pending
from audit.services import record
from audit.verification import Connector, verify_ledger
from audit.verify_core import b64
from core.types import Actor

# What verify_ledger checks, in docs/ledger.md's words (section 8, items 1-4 and 6). Item 5 needs a
# checkpoint kept outside the database, which the page does not have.
CHECKED = (
    "sequence numbers are exactly 0 … n−1, none missing or repeated",
    "every entry's body hashes (SHA-256, RFC 6962 leaf) to its stored leaf hash",
    "every stored subtree node equals the one recomputed from the leaves, none missing or beyond the log",
    "every stored checkpoint is signed by a trusted key (from the key files, never the database), names "
    "this log's origin, and its root equals the root recomputed at its size",
    "every ledger entry's event exists with the same body, and every event is in the log or still pending",
)
NOT_CHECKED = (
    "a checkpoint kept outside this database (deleted tail or restored backup): run "
    "manage.py audit_verify --checkpoint FILE with one you kept",
    "events still pending after sequencing (they have no position yet)",
)


@dataclass
class LedgerCheck:
    """The result of one verification, for display and for its audit event."""

    ok: bool
    size: int
    root: str
    checkpoints: int
    problems: list[str] = field(default_factory=list)
    checked: tuple[str, ...] = CHECKED
    not_checked: tuple[str, ...] = NOT_CHECKED
    seconds: float = 0.0
    at: object = None


def ledger_verify(*, actor: Actor) -> LedgerCheck:
    """Verify the whole stored ledger (AUDIT); the verification is itself an audit event
    ``audit.ledger.verify`` (outcome, tree size, problem count; no bodies)."""
    require(actor, AUDIT, "the ledger")
    started = time.monotonic()
    sequence_pending()
    # Another connection sees only committed rows: inside a transaction (tests) verify on this one.
    connect = None if connection.in_atomic_block else Connector.for_django(connection)
    report = verify_ledger(
        connection, verifiers=trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN, workers=1, connect=connect
    )
    result = LedgerCheck(
        ok=report.ok,
        size=report.size,
        root=b64(report.root),
        checkpoints=report.checkpoints,
        problems=[str(p) for p in sorted(report.problems, key=lambda p: p is not report.first_problem)],
        seconds=round(time.monotonic() - started, 3),
        at=timezone.now(),
    )
    with transaction.atomic():
        record(
            actor=actor,
            action="audit.ledger.verify",
            target_type="audit.ledger",
            target_id="entries",
            details={
                "ok": result.ok,
                "tree_size": result.size,
                "checkpoints": result.checkpoints,
                "problems": len(result.problems),
            },
        )
    return result


@login_required
@require_POST
def verify(request):
    """``audit:verify`` (POST): run :func:`ledger_verify` as the user. An htmx request gets the
    result fragment (swapped into the dashboard's ledger panel); a plain form post a page."""
    try:
        result, refusal = ledger_verify(actor=request.user), ""
    except PermissionDenied as exc:
        result, refusal = None, str(exc)
    if request.headers.get("HX-Request"):  # htmx swaps only 2xx answers: the refusal is the fragment's text
        return render(request, "audit/_verify_result.html", {"result": result, "refusal": refusal})
    return render(request, "audit/verify.html", {"result": result, "refusal": refusal}, status=403 if refusal else 200)
