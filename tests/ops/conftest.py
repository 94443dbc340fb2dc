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


def require_real_broker() -> None:
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("memory://"):
        pytest.skip("needs a real Celery broker (CELERY_BROKER_URL=redis://...); runs in the PostgreSQL pass of .ci/run")


def worker_env(tmp_path_factory, **extra: str) -> dict[str, str]:
    """A worker's environment: the test database, test profile, every test's tmp_path readable."""
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": pg_url(),
        "CUSTOS_ENV": "test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TRACE_LOG_LEVEL": "INFO",
        "CUSTOS_DATA_ROOTS": f"{tmp_path_factory.getbasetemp()},{settings.VAR_DIR}",
        **extra,
    }


class DrillWorkers:
    """``celery worker`` processes this test starts, kills and restarts (never the session's worker).

    While a drill runs, the workers other tests share (the session worker of this xdist process,
    on the same Redis database) stop consuming the task queue (``cancel_consumer``), so every task
    goes to a drill worker; they consume again afterwards (``add_consumer``)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []
        self.paused: list[str] = []

    def start(self, *, concurrency: int = 1, broker: str | None = None) -> subprocess.Popen:
        """A worker (on ``broker``, default the configured one), once it is ready."""
        import uuid

        name = f"drill-{uuid.uuid4().hex[:8]}@%h"
        log = open(self.log_dir / f"celery-drill-{len(self.started)}.log", "w")  # noqa: SIM115 - the process owns it
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", f"--concurrency={concurrency}"]
            + ["--without-gossip", "--without-mingle", "-n", name],
            cwd=REPO,
            env={**self.env, **({"CELERY_BROKER_URL": broker} if broker else {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.started.append(proc)
        hostname = name.replace("%h", socket_hostname())
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"drill worker exited with {proc.returncode}; see {self.log_dir}")
            if self._ready(proc, hostname, broker):
                return proc
            time.sleep(0.2)
        raise RuntimeError(f"drill worker not ready within 60 s; see {self.log_dir}")

    def _ready(self, proc: subprocess.Popen, hostname: str, broker: str | None) -> bool:
        """On the configured broker: the worker answers a ping. On another broker: its log says
        ``HOSTNAME ready.`` (written once every consumer, the remote-control one included, runs).
        A ping cannot reach it there: kombu's mailbox publishes the broadcast through the app's
        producer pool, i.e. on the configured broker, whatever ``connection=`` it is given, and
        Celery reads the broker from ``CELERY_BROKER_URL`` before any app setting."""
        from config.celery import app

        if broker is None:
            return bool(app.control.ping(destination=[hostname], timeout=0.5))
        log = self.log_dir / f"celery-drill-{self.started.index(proc)}.log"
        return f"{hostname} ready." in log.read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def socket_hostname() -> str:
    import socket

    return socket.gethostname()


@pytest.fixture
def drill_workers(transactional_db, tmp_path_factory, tmp_path):
    """A :class:`DrillWorkers` for one test; PostgreSQL and a real broker only."""
    require_postgres()
    require_real_broker()
    from config.celery import app

    others = [name for reply in (app.control.ping(timeout=1) or []) for name in reply]
    if others:
        app.control.cancel_consumer(app.conf.task_default_queue, destination=others, reply=True, timeout=5)
    workers = DrillWorkers(worker_env(tmp_path_factory), tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()
        if others:
            app.control.add_consumer(app.conf.task_default_queue, destination=others, reply=True, timeout=5)


def wait_until(check, timeout: float, what: str, interval: float = 0.2):
    """``check()``'s first truthy value within ``timeout`` seconds, else fail saying ``what``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:g} s")
