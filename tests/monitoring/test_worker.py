"""Integration (PostgreSQL pass): predictions posted through the API with ``run: true`` are checked by a
real Celery worker on Redis, and the drift and quality alerts exist within a minute of the post, with
their ledger entries."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from monitoring import services
from monitoring.models import Alert, MonitorRun
from tests.factories import AssetFactory, ModelVersionFactory, UserFactory
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.worker
FEATURES = ["age", "income", "region", "score"]


def test_an_alert_fires_within_a_minute_of_the_data_on_a_real_worker(celery_worker_process, transactional_db, settings):
    # under VAR_DIR: the worker's data roots hold it whichever way tests/conftest.py starts the worker
    root = Path(settings.VAR_DIR) / f"test-monitoring-{uuid.uuid4().hex}"
    root.mkdir(parents=True)
    try:
        _alert_within_a_minute(root, settings)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _alert_within_a_minute(root: Path, settings) -> None:
    settings.CUSTOS_DATA_ROOTS = [root]
    path = root / "reference.parquet"
    make_frame(3000, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(path)
    version = ModelVersionFactory()
    steward, service = UserFactory(role="steward", is_staff=True), UserFactory(role="service")
    monitor = services.monitor_create(
        actor=steward,
        model_version=version,
        name="inputs",
        reference_asset=AssetFactory(location=str(path), kind="file"),
        columns=FEATURES,
        schedule_minutes=0,
    )
    rows = make_frame(500, seed=3, shift=0.6)
    rows.loc[:99, "income"] = None
    client = APIClient()
    client.force_authenticate(service)
    posted = time.monotonic()
    r = client.post(
        "/api/v1/monitoring/batches",
        {
            "model_version": version.pk,
            "rows": rows.astype(object).where(rows.notna(), None).to_dict(orient="records"),
            "run": True,
        },
        format="json",
    )
    assert r.status_code == 201, r.content[:300]
    deadline = posted + 60
    while time.monotonic() < deadline and not MonitorRun.objects.filter(monitor=monitor, status="succeeded").exists():
        time.sleep(0.25)
    took = time.monotonic() - posted
    run = MonitorRun.objects.filter(monitor=monitor).first()
    assert run is not None and run.status == "succeeded", (
        f"no successful run within 60 s ({run and run.error}); see var/celery-worker-test.log"
    )
    assert run.trigger == "stream" and run.started_by == service  # folded into the open chunk (chunk_rows 5000)
    subjects = set(Alert.objects.filter(monitor=monitor, state="open").values_list("subject", flat=True))
    assert {"age", "null_share:income"} <= subjects, subjects
    opened = AuditEvent.objects.filter(action="monitoring.alert_open").count()
    assert opened == len(subjects)
    print(f"alerts open {took:.1f} s after the post")
    assert took < 60
