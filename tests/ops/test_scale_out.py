"""Scale-out drill (issue 17, PostgreSQL pass): the web server and two Celery worker "hosts" each in
a Linux network namespace of its own on this machine (tests/ops/netns.py: veth links; PostgreSQL and
Redis reached over each host's link, never over a shared loopback). A scan started through the web
host's API fans out over both worker hosts; the drill shows chunks ran on both and that the result
equals the same scan run on one worker host.

Root and iproute2 are needed (``ip netns add``); without them the drill skips saying so.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pandas as pd
import pytest
from django.conf import settings

from compliance.scanning.models import ScanChunk, ScanRun
from tests.factories import UserFactory
from tests.ops.conftest import REPO, pg_url, require_postgres, require_real_broker, wait_until, worker_env
from tests.ops.netns import NetnsHost, Relay, netns_unavailable
from tests.ops.test_worker_faults import file_asset, ledger_intact

pytestmark = pytest.mark.worker

CHUNK_ROWS = 150
ROWS = 1200  # 8 chunks
SUCCEEDED = re.compile(r"Task scanning\.scan_chunk\[[0-9a-f-]+\] succeeded")


def _via(url: str, address: str) -> str:
    """``url`` with its host replaced by ``address`` (the machine's end of a namespace's link)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host_port = f"{address}:{parts.port}" if parts.port else address
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host_port}" if len(netloc) == 2 else host_port))


class Cluster:
    """Three namespace hosts (web, w1, w2), the relays on their links, and what runs in them."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        subnet = os.getpid() % 250
        tag = f"{os.getpid()}"
        self.hosts: dict[str, NetnsHost] = {}
        self.relays: list[Relay] = []
        self.procs: dict[str, subprocess.Popen] = {}
        with socket.socket() as free:  # a port free on this machine's loopback, for the test below
            free.bind(("127.0.0.1", 0))
            self.web_port = free.getsockname()[1]
        db, broker = urlsplit(pg_url()), urlsplit(settings.CELERY_BROKER_URL)
        for index, role in enumerate(("web", "w1", "w2")):
            host = NetnsHost(f"custos-{tag}-{role}", subnet, index)
            self.hosts[role] = host
            self.relays.append(Relay(host.host_address, db.port or 5432, (db.hostname, db.port or 5432)))
            self.relays.append(Relay(host.host_address, broker.port or 6379, (broker.hostname, broker.port or 6379)))

    def env(self, role: str, tmp_path_factory, **extra: str) -> dict[str, str]:
        host = self.hosts[role]
        return {
            **worker_env(tmp_path_factory),
            "DATABASE_URL": _via(pg_url(), host.host_address),
            "CELERY_BROKER_URL": _via(settings.CELERY_BROKER_URL, host.host_address),
            "CUSTOS_SCAN_CHUNK_ROWS": str(CHUNK_ROWS),
            **extra,
        }

    def start_worker(self, role: str, env: dict[str, str]) -> str:
        from config.celery import app

        name = f"{role}@{self.hosts[role].name}"
        log = open(self.log_dir / f"{role}.log", "w")  # noqa: SIM115 - the process owns it
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"]
        command += ["--without-gossip", "--without-mingle", "--prefetch-multiplier=1", "-n", name]
        self.procs[role] = self.hosts[role].popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: app.control.ping(destination=[name], timeout=0.5), 90, f"worker {name} answering a ping")
        return name

    def start_web(self, env: dict[str, str]) -> str:
        address = self.hosts["web"].address
        log = open(self.log_dir / "web.log", "w")  # noqa: SIM115 - the process owns it
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"]
        command += ["--bind", f"{address}:{self.web_port}", "--worker-class", "gthread", "--workers", "1", "--threads", "4"]
        command += ["--preload", "--log-level", "warning"]
        self.procs["web"] = self.hosts["web"].popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        base = f"http://{address}:{self.web_port}"

        def up():
            try:
                return httpx.get(base + "/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 120, "the web host answering /healthz")
        return base

    def stop(self, role: str) -> None:
        proc = self.procs.pop(role, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def chunks_done_by(self, role: str) -> int:
        return len(SUCCEEDED.findall((self.log_dir / f"{role}.log").read_text(errors="replace")))

    def close(self) -> None:
        for role in list(self.procs):
            self.stop(role)
        for relay in self.relays:
            relay.close()
        for host in self.hosts.values():
            host.close()


@pytest.fixture
def cluster(transactional_db, tmp_path):
    require_postgres()
    require_real_broker()
    why = netns_unavailable()
    if why:
        pytest.skip(f"the scale-out drill {why}")
    from config.celery import app

    others = [name for reply in (app.control.ping(timeout=1) or []) for name in reply]
    if others:  # every task of the drill must go to a namespace host
        app.control.cancel_consumer(app.conf.task_default_queue, destination=others, reply=True, timeout=5)
    made = Cluster(tmp_path)
    try:
        yield made
    finally:
        made.close()
        if others:
            app.control.add_consumer(app.conf.task_default_queue, destination=others, reply=True, timeout=5)


def _table() -> pd.DataFrame:
    rng = random.Random(11)
    first = ["Maria", "James", "Emily", "Robert", "Aisha", "Tom", "Ines", "Kenji"]
    last = ["Lopez", "Carter", "Chen", "Miller", "Khan", "Becker", "Duarte", "Sato"]
    rows = []
    for i in range(ROWS):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        rows.append(
            {
                "full_name": name,
                "email": f"{name.split()[0].lower()}.{i}@example.org",
                "notes": f"Called {name} on 212-555-{1000 + i % 9000:04d} about visit {i}.",
                "amount": round(rng.uniform(1, 500), 2),
            }
        )
    return pd.DataFrame(rows)


def _answers(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def _scan(client: httpx.Client, asset_id: int) -> ScanRun:
    response = client.post("/api/v1/scans", json={"asset": asset_id, "sample_size": ROWS})
    assert response.status_code == 202, response.text[:500]
    run_id = response.json()["id"]
    wait_until(lambda: ScanRun.objects.get(pk=run_id).is_finished, 300, f"scan {run_id} finished")
    run = ScanRun.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    return run


def test_a_scan_through_the_web_host_fans_out_over_two_worker_hosts_and_equals_a_one_host_scan(
    cluster, settings, tmp_path, tmp_path_factory
):
    from accounts.services import token_create

    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    path = tmp_path / "contacts.parquet"
    frame = _table()
    asset = file_asset(frame, path)
    frame.to_parquet(path, index=False, row_group_size=CHUNK_ROWS)  # one row group per chunk
    token = token_create(user=UserFactory(role="steward"), actor="test", name="scale-out")[1]

    cluster.start_worker("w1", cluster.env("w1", tmp_path_factory))
    cluster.start_worker("w2", cluster.env("w2", tmp_path_factory))
    web_address = cluster.hosts["web"].address
    base = cluster.start_web(cluster.env("web", tmp_path_factory, ALLOWED_HOSTS=web_address))
    # the web host is a host of its own: nothing answers on its port on this machine's loopback
    assert not _answers("127.0.0.1", cluster.web_port)
    started = time.monotonic()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        fanned = _scan(client, asset.pk)
        fanned_seconds = time.monotonic() - started
        assert fanned.chunks_total == ROWS // CHUNK_ROWS == fanned.chunks_done
        # a worker logs a task's success after the task returned, i.e. after the last chunk closed the run
        wait_until(
            lambda: cluster.chunks_done_by("w1") + cluster.chunks_done_by("w2") >= fanned.chunks_total,
            60,
            "chunk outcomes logged",
        )
        on_w1, on_w2 = cluster.chunks_done_by("w1"), cluster.chunks_done_by("w2")
        assert on_w1 >= 1 and on_w2 >= 1, f"chunks per host: w1 {on_w1}, w2 {on_w2}"
        assert on_w1 + on_w2 == fanned.chunks_total  # each chunk ran once, on one host
        assert ScanChunk.objects.filter(run=fanned, attempts=1).count() == fanned.chunks_total

        # the same scan on one worker host
        cluster.stop("w2")
        before_w1 = cluster.chunks_done_by("w1")
        single = _scan(client, asset.pk)
        wait_until(lambda: cluster.chunks_done_by("w1") - before_w1 >= single.chunks_total, 60, "chunk outcomes logged")
        assert cluster.chunks_done_by("w1") - before_w1 == single.chunks_total == fanned.chunks_total
        assert cluster.chunks_done_by("w2") == on_w2

    assert single.findings == fanned.findings
    assert (single.rows_scanned, single.rows_sampled) == (fanned.rows_scanned, fanned.rows_sampled) == (ROWS, ROWS)
    found = {column["name"]: {e["type"] for e in column["entities"]} for column in fanned.findings}
    assert "EMAIL_ADDRESS" in found["email"] and {"PERSON", "PHONE_NUMBER"} <= found["notes"], found
    for relay in cluster.relays:  # every host reached PostgreSQL and Redis over its own link
        assert relay.connections >= 1
    ledger_intact()
    print(
        f"\nscale-out drill: {fanned.chunks_total} chunks, w1 {on_w1} / w2 {on_w2}; scan over both hosts {fanned_seconds:.1f} s "
        f"(each worker loads the PII engine on its first chunk), then on one warm host {single.seconds or 0:.1f} s "
        f"(load {os.getloadavg()[0]:.1f})"
    )
