"""Pytest plugin loaded with ``-p`` before Django starts: selects the test profile of the settings.

A conftest would be too late, pytest-django imports the settings before conftests load.

Under pytest-xdist each process (``PYTEST_XDIST_WORKER`` = ``gw0``, ``gw1`` ...) has its own test
database and starts its own Celery worker on it (tests/conftest.py); on a shared Redis queue one
process's worker would take the other's tasks and find nothing in its database. So each process
gets its own Redis database number, counting down from the configured one (15, 14, ...).
"""

import os
import re

os.environ.setdefault("CUSTOS_ENV", "test")


def _broker_per_xdist_process() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    found = re.fullmatch(r"(redis://[^/]+)/(\d+)", broker)
    if not (worker.startswith("gw") and found):
        return
    number = int(found.group(2)) - int(worker.removeprefix("gw"))
    if number < 0:
        raise RuntimeError(f"CELERY_BROKER_URL {broker}: too few Redis databases below it for {worker}")
    os.environ["CELERY_BROKER_URL"] = f"{found.group(1)}/{number}"


_broker_per_xdist_process()
