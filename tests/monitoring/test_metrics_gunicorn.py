"""GET /metrics under gunicorn with two worker processes (the ``make serve`` setup): with
``PROMETHEUS_MULTIPROC_DIR`` one scrape sums the HTTP counters of every worker, whichever answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="one database is enough: SQLite pass")
def test_one_scrape_counts_the_requests_every_gunicorn_worker_served(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DATABASE_URL"))}
    env.update(
        CUSTOS_ENV="test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
        CUSTOS_METRICS_TOKEN="scrape-token",
    )
    (tmp_path / "prom").mkdir()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True, timeout=300)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "2", "--preload"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                _get(f"{base}/api/v1/")
                break
            except OSError:
                time.sleep(0.5)
        served = 40
        for _ in range(served):
            status, _ = _get(f"{base}/api/v1/assets/")  # 401/403 without a token: still a request
            assert status in {401, 403}
        status, body = _get(f"{base}/metrics", token="scrape-token")
        assert status == 200
        fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
        by_view = fams["custos_django_http_requests_latency_seconds_by_view_method"]
        counted = sum(s.value for s in by_view.samples if s.name.endswith("_count") and s.labels["view"] == "asset-list")
        assert counted == served
        pids = {p.name for p in (tmp_path / "prom").iterdir()}
        assert len({name.rsplit("_", 1)[-1] for name in pids if name.endswith(".db")}) >= 2, pids  # files of 2+ workers
    finally:
        server.terminate()
        server.wait(timeout=30)
