"""Database drill (issue 17, PostgreSQL pass): gunicorn (``make serve``'s flags, persistent
connections ``DATABASE_CONN_MAX_AGE=60``) while the server drops its connections.

PostgreSQL here is a system service shared by other users of the machine, so it is not restarted:
its backends serving the app are ended with ``pg_terminate_backend`` -- what a restart (or a
failover, an idle-connection killer) does to the app's side of each connection. Checked: idle
persistent connections dropped -> the next requests all succeed (health checks replace them, no
500); a request whose query is running when its backend dies -> a 503 in the JSON error envelope,
nothing of a write half-applied, and the retry succeeds with exactly one audit event.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import httpx
import psycopg
import pytest

from audit.models import AuditEvent
from catalog.models import Classification
from tests.factories import AssetFactory, ColumnFactory, UserFactory
from tests.ops.conftest import REPO, pg_params, pg_url, require_postgres, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
APP = "custos-drill-web"  # application_name of the server's connections: only they are terminated


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql():
    p = pg_params()
    return psycopg.connect(**{k: v for k, v in p.items() if v}, autocommit=True)


def terminate(where: str = "") -> int:
    """End the server's backends (all of them, or those matching ``where``); returns how many."""
    with psql() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND application_name = %s {where}",
            [APP],
        ).fetchall()
    return len(rows)


@pytest.fixture
def server(tmp_path):
    require_postgres()
    port = free_port()
    env = {
        **os.environ,
        "CUSTOS_ENV": "test",
        "DATABASE_URL": pg_url() + f"?application_name={APP}",
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": "memory://",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers", "1", "--threads", "4"]
    command += ["--keep-alive", "30", "--preload", "--log-level", "warning"]
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base) or proc.poll() is not None, 120, "gunicorn listening")
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _up(base: str) -> bool:
    try:
        httpx.get(base + "/api/v1", timeout=5)
        return True
    except httpx.HTTPError:
        return False


@pytest.fixture
def steward_token():
    from accounts.services import token_create

    return token_create(user=UserFactory(role="steward"), actor="test", name="drill")[1]


def test_dropped_persistent_connections_are_replaced_without_an_error(server, steward_token):
    AssetFactory.create_batch(3)
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {steward_token}"}, timeout=30) as client:
        assert {client.get("/api/v1/assets/").status_code for _ in range(8)} == {200}  # every thread holds a connection
        assert terminate() >= 1
        statuses = [client.get("/api/v1/assets/").status_code for _ in range(12)]
        assert statuses == [200] * 12, statuses
        assert terminate() >= 1  # and again, with writes
        column = ColumnFactory()
        response = client.post(
            "/api/v1/classifications/",
            json={"column": column.pk, "entity_type": "EMAIL_ADDRESS", "sensitivity": "confidential", "reason": "drill"},
        )
        assert response.status_code == 201, response.text


def test_a_request_whose_backend_dies_mid_query_is_a_503_envelope_with_nothing_half_written(server, steward_token):
    """Confirming a classification writes the classification and its audit event, then raises the
    asset's sensitivity: the asset table is locked against updates (plain reads still pass), so the
    request's backend dies *after* its first writes, inside the transaction."""
    column = ColumnFactory(asset=AssetFactory(sensitivity="internal"))
    classification = Classification.objects.create(
        column=column, entity_type="EMAIL_ADDRESS", source="scan", confidence=0.9, sensitivity="confidential"
    )
    headers = {"Authorization": f"Bearer {steward_token}"}
    # the token's first use is audited on its own (accounts.token.use, committed at authentication):
    # use it once first, so the events compared below are the write's alone
    assert httpx.get(f"{server}/api/v1/assets/", headers=headers, timeout=30).status_code == 200
    events_before = list(AuditEvent.objects.values_list("action", flat=True))
    answer: dict = {}

    with psql() as locker:
        locker.autocommit = False
        locker.execute("LOCK TABLE catalog_dataasset IN EXCLUSIVE MODE")  # reads pass, the asset update waits

        def confirm():
            try:
                answer["response"] = httpx.post(
                    f"{server}/api/v1/classifications/{classification.pk}/confirm",
                    json={"reason": "drill"},
                    headers=headers,
                    timeout=60,
                )
            except httpx.HTTPError as exc:  # reported below, not lost in the thread
                answer["error"] = exc

        thread = threading.Thread(target=confirm)
        thread.start()
        try:
            waiting = wait_until(
                lambda: _lock_waiter("catalog_dataasset"), 30, "the request's backend waiting on the asset table's lock"
            )
            assert "UPDATE" in waiting.upper(), waiting  # the request got past its first writes
            assert terminate("AND wait_event_type = 'Lock'") == 1
        finally:
            thread.join(timeout=60)
            locker.rollback()

    assert "response" in answer, answer.get("error", "no answer within 60 s")
    response = answer["response"]
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == 503 and set(error) >= {"status", "code", "message"}
    classification.refresh_from_db()
    assert classification.state == "suggested" and classification.decided_at is None
    column.asset.refresh_from_db()
    assert column.asset.sensitivity == "internal"
    assert list(AuditEvent.objects.values_list("action", flat=True)) == events_before  # the event rolled back too

    retry = httpx.post(
        f"{server}/api/v1/classifications/{classification.pk}/confirm", json={"reason": "drill"}, headers=headers, timeout=60
    )
    assert retry.status_code == 200, retry.text
    classification.refresh_from_db()
    column.asset.refresh_from_db()
    assert classification.state == "confirmed" and column.asset.sensitivity == "confidential"
    assert AuditEvent.objects.filter(action="catalog.classification.confirm", target_id=str(classification.pk)).count() == 1
    assert AuditEvent.objects.filter(action="catalog.asset.update", target_id=str(column.asset.pk)).count() == 1


def _lock_waiter(table: str) -> str | None:
    """The query of the server's backend waiting for a lock on ``table``, if one is."""
    with psql() as conn:
        row = conn.execute(
            "SELECT a.query FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted "
            "WHERE a.datname = current_database() AND a.application_name = %s AND l.relation = %s::regclass",
            [APP, table],
        ).fetchone()
    return row[0] if row else None
