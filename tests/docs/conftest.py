"""A fresh clone of this checkout with the demo set up, shared by the tests that run the README's
rows and the docs' examples as a newcomer would (issue 12, "run as written from a fresh clone").

The clone is ``git clone`` of this checkout (committed files only, as a newcomer gets them) with this
run's ``.venv`` linked in; ``demo_setup`` is what ``make demo`` runs before serving. Embedded default
only (the README's setting): the PostgreSQL pass skips.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    """The environment a newcomer has: none of the test run's database, broker or profile settings."""
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "CUSTOS_ENV", "DJANGO_SETTINGS_MODULE"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("CUSTOS_", "PYTEST"))}


@pytest.fixture(scope="session")
def clone(tmp_path_factory):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("the README's rows and docs examples run on the embedded default (SQLite); checked in the SQLite pass")
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to clone")
    target = tmp_path_factory.mktemp("fresh") / "custos"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    (target / ".venv").symlink_to(Path(sys.executable).parents[1])
    setup = subprocess.run(
        [".venv/bin/python", "manage.py", "demo_setup"],
        cwd=target,
        env={**clean_env(), "CUSTOS_ENV": "demo"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_server(clone):
    """The clone served as ``make demo`` serves it (runserver, demo profile) on a free loopback
    port; yields ``host:port``. Stopped at the end of the session."""
    port = _free_port()
    server = subprocess.Popen(
        [".venv/bin/python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=clone,
        env={**clean_env(), "CUSTOS_ENV": "demo"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the demo server did not start within 60 s")
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)
