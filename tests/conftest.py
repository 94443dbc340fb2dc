"""Shared fixtures: users for every role, API clients, and a real Celery worker for the
integration pass (PostgreSQL + Redis), which the SQLite pass skips with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from accounts.choices import Role

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying what is missing (a user's clone may lack it)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared test data, present in CI next to the clone)")
    return path


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    def make(role: str = Role.VIEWER, **kwargs):
        staff = role in {Role.ADMIN, Role.STEWARD, Role.AUDITOR}  # as accounts.services.user_ensure sets it
        return UserFactory(role=role, is_superuser=role == Role.ADMIN, is_staff=staff, **kwargs)

    return make


@pytest.fixture
def users(make_user):
    """One user per role."""
    return {role: make_user(role) for role in Role.values}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as(users):
    """``api_as(role)`` -> an APIClient authenticated as that role's user (``None``: anonymous)."""

    def client_for(role: str | None) -> APIClient:
        client = APIClient()
        if role is not None:
            client.force_authenticate(users[role])
        return client

    return client_for


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Reference data that data migrations load (the regulation packs) is present in every test.

    A ``transactional_db`` or ``live_server`` test ends with a flush that empties every table,
    migration-loaded rows included; the tests after it would otherwise see no packs.
    """
    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames) or request.node.get_closest_marker(
        "django_db"
    )
    if uses_db:
        from compliance.policies.models import RegulationPack
        from compliance.policies.pack_loader import load_builtin

        request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
        if not RegulationPack.objects.exists():
            load_builtin()
    yield


@pytest.fixture(autouse=True)
def cold_graph_cache():
    """The lineage graph cache is per process and the test database rolls back between tests, so
    graph versions are reused: a cache synced inside an earlier test's transaction would take a
    later test's edges for a delta it already has. Every test starts cold, and every read checks
    the version row (tests write without committing, so the after-commit refresh never runs)."""
    from lineage.graph import cache
    from lineage.openlineage import reset_caches

    cache.reset()
    cache.max_staleness = 0
    reset_caches()
    yield
    cache.reset()
    reset_caches()


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process in every test not marked ``worker``, whatever broker is configured.

    In the PostgreSQL pass a real broker is configured; without this, tasks queued by ordinary
    tests would pile up on the shared worker and delay (or race with) the worker tests.
    """
    from config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    if request.node.get_closest_marker("worker") is None:
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def _worker_drained_before_flush(request):
    """After a ``worker`` test, wait until the worker has finished what the test queued, *before*
    the test database is flushed: a task still running while the flush truncates its tables
    would block on locks (and the next worker test would queue behind it)."""
    if request.node.get_closest_marker("worker") is None:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so it is torn down after this
    yield
    if "celery_worker_process" in request.fixturenames:
        _drain_worker(timeout=60)


def _drain_worker(timeout: float) -> None:
    import redis

    from config.celery import app

    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspect = app.control.inspect(timeout=1)
        busy = [tasks for reply in (inspect.active() or {}, inspect.reserved() or {}) for tasks in reply.values() if tasks]
        if not busy and not queue.llen("celery"):
            return
        time.sleep(0.3)


# one log per xdist process (each runs its own worker, config/pytest_env.py)
_XDIST_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_LOG = REPO / "var" / (f"celery-worker-test-{_XDIST_PROCESS}.log" if _XDIST_PROCESS else "celery-worker-test.log")


def _broker_is_real() -> bool:
    return not settings.CELERY_BROKER_URL.startswith("memory://")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` subprocess on the configured broker, using the test database.

    The worker's data roots are this run's pytest base directory, under which every test's
    ``tmp_path`` lies, and ``var/`` (the default): a test that sets ``CUSTOS_DATA_ROOTS =
    [tmp_path]`` in its own process has files the worker may read too (the worker cannot see the
    test's in-process settings).

    Skipped unless a real broker and a server database are configured (the second CI pass).
    """
    from django.db import connection

    if not _broker_is_real():
        pytest.skip("needs a real Celery broker (CELERY_BROKER_URL=redis://...); runs in the PostgreSQL pass of .ci/run")
    if connection.vendor == "sqlite":
        pytest.skip("a worker process cannot share the in-memory SQLite test database; runs in the PostgreSQL pass")
    import dj_database_url

    url = os.environ["DATABASE_URL"]
    parsed = dj_database_url.parse(url)
    test_name = connection.settings_dict["NAME"]
    worker_url = url.rsplit("/", 1)[0] + "/" + test_name if parsed["NAME"] else url
    env = {
        **os.environ,
        "DATABASE_URL": worker_url,
        "CUSTOS_ENV": "test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TRACE_LOG_LEVEL": "INFO",  # task outcomes in the worker log
        "CUSTOS_DATA_ROOTS": f"{tmp_path_factory.getbasetemp()},{settings.VAR_DIR}",
    }
    WORKER_LOG.parent.mkdir(exist_ok=True)
    log = open(WORKER_LOG, "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from config.celery import app

    app.control.purge()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}; see {WORKER_LOG}")
        if app.control.ping(timeout=0.5):
            break
    else:
        proc.terminate()
        raise RuntimeError("celery worker did not answer a ping within 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium():
    """A headless Debian Chromium driven by Playwright, for one test. Skipped where Chromium is not
    installed, except in CI (``CI`` set), where .ci/run installs it and a missing browser fails.

    Function-scoped on purpose: Playwright's sync API keeps an event loop on the test thread, and
    while it runs Django refuses ORM calls from that thread as "async unsafe". The test thread
    never runs async Django code, so the guard is lifted for this test only and restored after.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium")
        pytest.skip(f"needs {CHROMIUM} (apt-get install chromium) for browser tests")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
            # While Playwright's loop runs on this thread, Django keeps the test's connections in
            # that context, not the thread's: close them here, or the test database cannot be
            # dropped at the end of a PostgreSQL run ("being accessed by other users").
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
