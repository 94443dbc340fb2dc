"""/healthz and /readyz (core/health.py): unauthenticated, answered before host and TLS checks (a
probe comes by pod IP over plain HTTP), /readyz really asks the database and the broker, and no
answer says more than ok/fail."""

from __future__ import annotations

import json
import os
import socket

import pytest
from django.db import connections

from core import health

PROBE_HOST = "10.244.3.17:8000"  # what a kubelet sends: the pod's IP, not in ALLOWED_HOSTS


@pytest.fixture
def production_like(settings):
    settings.ALLOWED_HOSTS = ["custos.example.org"]
    settings.SECURE_SSL_REDIRECT = True


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_healthz_answers_ok_without_login_and_touches_no_database(client, production_like):
    # no database access is allowed in this test: any query would raise
    response = client.get("/healthz", HTTP_HOST=PROBE_HOST)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {"status": "ok"}


def test_only_the_health_paths_skip_the_host_and_tls_checks(client, production_like):
    assert client.get("/healthz", HTTP_HOST=PROBE_HOST).status_code == 200
    # everything else still gets Django's refusal of an unknown host, and the TLS redirect
    assert client.get("/api/v1", HTTP_HOST=PROBE_HOST).status_code == 400
    assert client.get("/api/v1", HTTP_HOST="custos.example.org").status_code == 301
    assert client.get("/healthz/", HTTP_HOST=PROBE_HOST).status_code == 400


def test_health_paths_answer_head_and_refuse_writes(client, db):
    head = client.head("/healthz")
    assert head.status_code == 200 and head.content == b""
    assert client.head("/readyz").status_code == 200
    post = client.post("/readyz", data={})
    assert post.status_code == 405 and post["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client, production_like):
    response = client.get("/readyz", HTTP_HOST=PROBE_HOST)
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), reason="needs a Redis broker (PostgreSQL pass)"
)
def test_the_broker_check_connects_to_a_real_redis():
    assert health.check_broker() is True


@pytest.mark.django_db
def test_readyz_fails_when_the_broker_is_down_and_says_nothing_about_it(client, monkeypatch, caplog):
    port = _closed_port()
    monkeypatch.setattr(health, "BROKER_URL", f"redis://:hunter2@127.0.0.1:{port}/0")
    response = client.get("/readyz", HTTP_HOST=PROBE_HOST)
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "checks": {"database": "ok", "broker": "fail"}}
    text = response.content.decode() + caplog.text
    assert str(port) not in text and "hunter2" not in text and "127.0.0.1" not in text


@pytest.fixture
def unreachable_database():
    """A second database alias that cannot be reached: a PostgreSQL port nothing listens on, or a
    SQLite file inside a directory that does not exist."""
    settings_dict = dict(connections.settings["default"])
    if settings_dict["ENGINE"].endswith("sqlite3"):
        settings_dict["NAME"] = "/nonexistent-custos-dir/none.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()), OPTIONS={"connect_timeout": 2})
    settings_dict["TEST"] = {}
    connections.settings["unreachable"] = settings_dict
    yield "unreachable"
    connections["unreachable"].close()
    del connections["unreachable"]
    del connections.settings["unreachable"]


@pytest.mark.django_db
def test_readyz_fails_when_the_database_is_down(client, monkeypatch, unreachable_database, caplog):
    monkeypatch.setattr(health, "DATABASE_ALIAS", unreachable_database)
    response = client.get("/readyz", HTTP_HOST=PROBE_HOST)
    assert response.status_code == 503
    assert json.loads(response.content)["checks"] == {"database": "fail", "broker": "ok"}
    assert "nonexistent" not in response.content.decode() + caplog.text
