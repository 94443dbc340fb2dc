"""Ledger maintenance mode: the one way past the append-only triggers' DELETE/TRUNCATE refusal.

It exists for Django's ``flush`` (the test runner empties every table between transactional
tests, and ``manage.py flush`` wipes a development database). It is per database session, is
switched on only by :func:`ledger_maintenance`, logs a warning each time, and cannot be recorded
*in* the ledger because the ledger is what it erases: a wiped or truncated production log is
detected instead by ``audit_verify --checkpoint`` against a checkpoint kept outside the database.
In production the app's database role has no DELETE/TRUNCATE privilege on ledger tables at all,
so the switch gives it nothing (docs/ledger.md, "Role separation").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

logger = logging.getLogger(__name__)
_FLAG = "_custos_ledger_maintenance"


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: give each SQLite connection ``custos_ledger_maintenance()``."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("custos_ledger_maintenance", 0, lambda: 1 if getattr(connection, _FLAG, False) else 0)


@contextmanager
def ledger_maintenance(using: str = "default", *, purpose: str) -> Iterator[None]:
    """Allow DELETE/TRUNCATE on ledger tables for this session while the block runs."""
    connection = connections[using]
    logger.warning("custos ledger maintenance mode ON for database %r: %s", using, purpose)
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('custos.ledger_maintenance', 'on', false)")
    setattr(connection, _FLAG, True)
    try:
        yield
    finally:
        setattr(connection, _FLAG, False)
        if connection.vendor == "postgresql" and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('custos.ledger_maintenance', 'off', false)")
        logger.warning("custos ledger maintenance mode OFF for database %r", using)
