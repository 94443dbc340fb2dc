"""Helpers of the operations drills (issue 17): the test database's connection, other databases
made next to it, and ``manage.py`` run as a separate process against any of them.

Every drill here needs PostgreSQL (a real server that separate processes reach); on the SQLite
pass they skip with that reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def require_postgres() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "a PostgreSQL drill: separate processes (pg_dump, workers, gunicorn) must reach the database; runs in the PostgreSQL pass"
        )


def pg_params(name: str | None = None) -> dict[str, str]:
    """libpq parameters of the test database (or of ``name`` on the same server)."""
    from django.db import connection

    s = connection.settings_dict
    return {
        "host": s.get("HOST") or "127.0.0.1",
        "port": str(s.get("PORT") or 5432),
        "user": s.get("USER") or "postgres",
        "password": s.get("PASSWORD") or "",
        "dbname": name or s["NAME"],
    }


def pg_url(name: str | None = None) -> str:
    p = pg_params(name)
    auth = p["user"] + (f":{p['password']}" if p["password"] else "")
    return f"postgres://{auth}@{p['host']}:{p['port']}/{p['dbname']}"


def pg_env(name: str | None = None) -> dict[str, str]:
    """The environment a libpq client tool (pg_dump, pg_restore) needs for the test server."""
    p = pg_params(name)
    env = {**os.environ, "PGHOST": p["host"], "PGPORT": p["port"], "PGUSER": p["user"], "PGDATABASE": p["dbname"]}
    if p["password"]:
        env["PGPASSWORD"] = p["password"]
    return env


def admin_sql(statement: str) -> None:
    """One statement on the server's ``postgres`` database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    p = pg_params("postgres")
    with psycopg.connect(**{k: v for k, v in p.items() if v}, autocommit=True) as conn:
        conn.execute(statement)


def manage(*args: str, database_url: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` in a separate process on ``database_url`` (test profile)."""
    full_env = {**os.environ, "CUSTOS_ENV": "test", "DATABASE_URL": database_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )
