"""Broker drill (issue 17, PostgreSQL pass): Redis restarted with tasks queued.

The system Redis is shared, so the drill starts its own ``redis-server`` on a spare port with the
persistence docs/operations.md asks for (``appendonly yes``, ``appendfsync always``): scans are
queued with no worker, Redis is SIGKILLed (a crash, not a clean shutdown) and started again on the
same files, then a worker starts: every queued scan runs, once. Then Redis is restarted under a
connected, idle worker: it reconnects by itself and runs what is queued after the restart.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pandas as pd
import pytest

from audit.models import AuditEvent
from compliance.scanning import services as scanning
from compliance.scanning.models import ScanRun
from tests.factories import AssetFactory
from tests.ops.conftest import wait_until
from tests.ops.test_worker_faults import ledger_intact

pytestmark = pytest.mark.worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    def __init__(self, directory):
        self.dir = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is not None or self.client() is not None, 30, "redis-server answering")
        assert self.proc.poll() is None, f"redis-server exited with {self.proc.returncode}"

    def client(self):
        import redis

        try:
            client = redis.Redis.from_url(self.url, socket_timeout=2)
            client.ping()
            return client
        except redis.ConnectionError:
            return None

    def crash(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def queued(self) -> int:
        return self.client().llen("celery")


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (apt-get install redis-server) to restart a broker of its own")
    server = OwnRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:  # also when a start failed: nothing of the drill's outlives it
        server.stop()


def queue_scans(broker_url: str, paths) -> list[int]:
    """Scans recorded now, their ``scanning.scan_run`` tasks sent to ``broker_url``."""
    from config.celery import app

    runs = []
    with app.connection_for_write(broker_url) as connection:
        for path in paths:
            run = scanning.scan_start(
                actor="drill", asset=AssetFactory(location=str(path), kind="file"), sample_size=50, dispatch=False
            )
            app.send_task("scanning.scan_run", args=[run.pk], connection=connection)
            runs.append(run.pk)
    return runs


def finished(run_ids: list[int]) -> bool:
    return ScanRun.objects.filter(pk__in=run_ids, status__in=["succeeded", "failed"]).count() == len(run_ids)


def test_tasks_queued_before_a_redis_crash_run_once_after_it_and_a_worker_survives_a_restart(
    drill_workers, settings, tmp_path, own_redis
):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    paths = []
    for k in range(5):
        path = tmp_path / f"people{k}.csv"
        pd.DataFrame({"id": range(50), "email": [f"p{k}-{i}@example.org" for i in range(50)]}).to_csv(path, index=False)
        paths.append(path)

    queued = queue_scans(own_redis.url, paths[:3])
    assert own_redis.queued() == 3
    own_redis.crash()
    own_redis.start()  # same port, same append-only file
    assert own_redis.queued() == 3  # nothing queued was lost

    drill_workers.start(broker=own_redis.url)
    wait_until(lambda: finished(queued), 180, "the scans queued before the crash")
    assert set(ScanRun.objects.filter(pk__in=queued).values_list("status", flat=True)) == {"succeeded"}
    for pk in queued:
        assert AuditEvent.objects.filter(action="scanning.scan.finish", target_id=str(pk)).count() == 1

    own_redis.stop()  # restarted under a connected worker
    time.sleep(2)
    own_redis.start()
    later = queue_scans(own_redis.url, paths[3:])
    wait_until(lambda: finished(later), 180, "the scans queued after the restart (the worker reconnected)")
    assert set(ScanRun.objects.filter(pk__in=later).values_list("status", flat=True)) == {"succeeded"}
    for pk in later:
        assert AuditEvent.objects.filter(action="scanning.scan.finish", target_id=str(pk)).count() == 1
    ledger_intact()
