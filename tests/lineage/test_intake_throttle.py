"""OpenLineage intake has its own per-token rate (``lineage_intake``), not the API write rate.

A producer sends one event per POST (openlineage-python has no batching), far above what a
client of the REST API writes; the general ``token_write`` limit (600/minute) would answer most
of its events with 429. Intake POSTs count against ``lineage_intake`` only, other writes against
``token_write`` only, and an unset intake rate falls back to the write rate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services as account_services
from tests.lineage.helpers import dataset, run_event

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rates(settings):
    def set_rates(**scopes):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": scopes}
        cache.clear()

    yield set_rates
    cache.clear()


@pytest.fixture
def producer(make_user):
    _, raw = account_services.token_create(user=make_user("service"), actor="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _event(n: int) -> dict:
    return run_event(f"job_{n}", [dataset("raw.src")], [dataset(f"mart.out_{n}")])


def test_single_events_count_against_the_intake_rate_not_the_write_rate(rates, producer):
    rates(token_write="2/minute", lineage_intake="5/minute", token_expensive_read="100/minute")
    codes = [producer.post("/api/v1/lineage", _event(n), format="json").status_code for n in range(6)]
    assert codes == [201] * 5 + [429]  # five events although the write rate is two
    response = producer.post("/api/v1/lineage", _event(7), format="json")
    assert response.status_code == 429 and response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # the intake did not use up the token's ordinary writes, which keep their own (lower) rate
    assert [producer.post("/api/v1/tags", {"name": f"t{n}"}, format="json").status_code for n in range(3)] == [201, 201, 429]


def test_batches_and_the_marquez_endpoint_share_the_intake_count(rates, producer):
    rates(token_write="1/minute", lineage_intake="3/minute", token_expensive_read="100/minute")
    assert producer.post("/api/v1/lineage/batch", [_event(1), _event(2)], format="json").status_code == 200
    assert producer.post("/marquez/api/v1/lineage", _event(3), format="json").status_code == 201
    assert producer.post("/api/v1/lineage", _event(4), format="json").status_code == 201
    assert producer.post("/api/v1/lineage/batch", [_event(5)], format="json").status_code == 429
    # reads of the same views are not intake
    assert producer.get("/api/v1/lineage/events").status_code == 200


def test_without_an_intake_rate_the_write_rate_applies(rates, producer):
    rates(token_write="2/minute", token_expensive_read="100/minute")
    codes = [producer.post("/api/v1/lineage", _event(n), format="json").status_code for n in range(3)]
    assert codes == [201, 201, 429]


def test_the_intake_rate_is_read_from_the_environment(tmp_path):
    code = "import json; from django.conf import settings as s; print(json.dumps(s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']))"

    def rates_with(**env):
        base = {k: v for k, v in os.environ.items() if k not in {"CUSTOS_ENV", "DATABASE_URL", "CUSTOS_THROTTLE_LINEAGE_INTAKE"}}
        base.update({"CUSTOS_ENV": "development", "CUSTOS_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "memory://", **env})
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=base, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    default = rates_with()
    assert default["lineage_intake"] == "12000/minute" and default["token_write"] == "600/minute"
    assert rates_with(CUSTOS_THROTTLE_LINEAGE_INTAKE="50/second")["lineage_intake"] == "50/second"
