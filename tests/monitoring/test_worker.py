"""Integration (PostgreSQL pass): predictions posted through the API with ``run: true`` are checked by a
real Celery worker on Redis, and the drift and quality alerts exist within a minute of the post, with
their ledger entries; a fanned-out run's parts are computed by the real worker (two processes, so parts
run at once and race for the merge) and the merged results equal one worker's over the same window."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from monitoring import services
from monitoring.models import Alert, MonitorRun, MonitorRunPart
from tests.conftest import WORKER_LOG
from tests.factories import AssetFactory, ModelVersionFactory, UserFactory
from tests.monitoring.conftest import make_frame
from tests.monitoring.test_stream import _same

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


@pytest.mark.parametrize("drift_options", [{}, {"correction": "bh", "num_method": "ks"}])
def test_a_fanned_out_run_on_a_real_worker_gives_the_results_of_one_worker(
    celery_worker_process, transactional_db, settings, drift_options
):
    root = Path(settings.VAR_DIR) / f"test-monitoring-{uuid.uuid4().hex}"
    root.mkdir(parents=True)
    try:
        _fan_out_on_the_worker(root, settings, drift_options)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _fan_out_on_the_worker(root: Path, settings, drift_options: dict) -> None:
    # not eager: this process only enqueues the parts, so every part marked done was computed by the worker
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    settings.CUSTOS_DATA_ROOTS = [root]
    path = root / "reference.parquet"
    make_frame(3000, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(path)
    version = ModelVersionFactory()
    steward, service = UserFactory(role="steward", is_staff=True), UserFactory(role="service")
    monitor = services.monitor_create(
        actor=steward,
        model_version=version,
        name="wide",
        reference_asset=AssetFactory(location=str(path), kind="file"),
        drift_options=drift_options,
        multivariate_methods=["pca_reconstruction", "domain_classifier"],
        schedule_minutes=0,
        chunk_rows=0,
    )
    batches, rows = [], 400
    for i in range(3):
        f = make_frame(rows, seed=90 + i, shift=0.3 * i)
        f.loc[: rows // 8, "income"] = None
        batches.append(services.batch_log(actor=service, model_version=version, rows=f))
    labels = make_frame(3 * rows, seed=99, label=True)[["label"]]
    labels["prediction_id"] = [f"p{90 + i // rows}-{i % rows}" for i in range(3 * rows)]
    services.batch_log(actor=service, model_version=version, rows=labels, kind="labels")

    started = time.monotonic()
    many = services.monitor_run(actor=service, monitor=monitor, batches=batches, fan_out=True)
    parts = MonitorRunPart.objects.filter(run=many).count()
    assert parts >= 3, parts  # the joint part and at least two column parts
    deadline = started + 600  # not a latency bound: the joint part (domain classifier) took 127 s at load ~20
    while time.monotonic() < deadline:
        many.refresh_from_db()
        if many.status != "running":
            break
        time.sleep(0.25)
    took = time.monotonic() - started
    assert many.status == "succeeded", f"{many.status}: {many.error}; see {WORKER_LOG}"
    done = list(MonitorRunPart.objects.filter(run=many))
    assert all(p.done and p.attempts == 1 for p in done), [(p.index, p.done, p.attempts) for p in done]
    assert many.summary["parts"] == parts

    one = services.monitor_run(actor=service, monitor=monitor, batches=batches, fan_out=False)  # in this process
    assert one.status == "succeeded", one.error
    assert {r.kind for r in one.results.all()} >= {"drift", "dataset_drift", "quality", "multivariate", "performance", "concept"}
    _same(many, one)
    assert many.results.count() == one.results.count()
    assert (many.dataset_drift, many.share_drifted, many.reference_label, many.current_sha256) == (
        one.dataset_drift,
        one.share_drifted,
        one.reference_label,
        one.current_sha256,
    )
    assert AuditEvent.objects.filter(action="monitoring.run_fan_out", target_id=str(many.pk)).count() == 1
    assert AuditEvent.objects.filter(action="monitoring.run_finish", target_id=str(many.pk)).count() == 1
    print(f"fanned-out run of {parts} parts merged on the worker {took:.1f} s after the call")
