"""monitoring.client, the small Python client a model's serving code logs with, over real HTTP against a
live Custos server: predictions (a DataFrame with missing values), late labels, a Parquet upload, a
batch posted with ``run`` checked by the monitor (alerts read back through the client), and the API's
errors raised with their status and code. The module imports without Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accounts.services import token_create, user_ensure
from monitoring import services
from monitoring.client import MonitoringClient, MonitoringClientError, rows_of
from monitoring.data import read_typed_frame
from monitoring.models import LoggedBatch
from tests.factories import AssetFactory, ModelVersionFactory
from tests.monitoring.conftest import make_frame

FEATURES = ["age", "income", "region", "score"]


@pytest.fixture
def tokens(transactional_db):
    from django.db import transaction

    with transaction.atomic():
        service = user_ensure(username="serving", role="service", actor="test")
        _, raw = token_create(user=service, actor="test", name="serving")
        viewer = user_ensure(username="watcher", role="viewer", actor="test")
        _, read_only = token_create(user=viewer, actor="test")
    return raw, read_only


def test_rows_of_turns_a_frame_into_json_rows_with_nulls():
    frame = pd.DataFrame(
        {"a": [1.5, np.nan], "b": pd.array([1, None], dtype="Int64"), "t": pd.to_datetime(["2026-12-07", None], utc=True)}
    )
    assert rows_of(frame) == [{"a": 1.5, "b": 1, "t": "2026-12-07T00:00:00+00:00"}, {"a": None, "b": None, "t": None}]
    assert rows_of([{"x": np.int64(3), "y": float("inf")}]) == [{"x": 3, "y": None}]
    with pytest.raises(TypeError, match="row 0"):
        rows_of([[1, 2]])


def test_the_client_logs_predictions_labels_and_files_and_reads_alerts_back(live_server, tokens, roots, settings):
    raw, _ = tokens
    path = roots / "reference.parquet"
    make_frame(3000, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(path)
    version = ModelVersionFactory()
    steward = user_ensure(username="owner", role="steward", actor="test")
    monitor = services.monitor_create(
        actor=steward,
        model_version=version,
        name="inputs",
        reference_asset=AssetFactory(location=str(path), kind="file"),
        columns=FEATURES,
        schedule_minutes=0,
        chunk_rows=0,
    )
    custos = MonitoringClient(live_server.url, token=raw)

    shifted = make_frame(400, seed=3, shift=0.8)
    shifted.loc[:79, "income"] = np.nan
    batch = custos.log_predictions(version.pk, shifted, run=True)
    assert batch["kind"] == "predictions" and batch["rows"] == 400 and batch["source"] == "api"
    stored = read_typed_frame(LoggedBatch.objects.get(pk=batch["id"]).location)
    assert int(stored["income"].isna().sum()) == 80 and list(stored["prediction_id"]) == list(shifted["prediction_id"])

    runs = custos.runs(monitor=monitor.pk)
    assert len(runs) == 1 and runs[0]["status"] == "succeeded", runs
    assert runs[0]["dataset_drift"] is True
    open_alerts = custos.alerts(model_version=version.pk, state="open")
    subjects = {a["subject"] for a in open_alerts}
    assert {"age", "null_share:income"} <= subjects, subjects
    flagged = custos.results(run=runs[0]["id"], flagged=True)
    assert {r["name"] for r in flagged} >= {"age", "null_share:income"}

    labels = pd.DataFrame({"prediction_id": shifted["prediction_id"][:100], "label": [1, 0] * 50})
    got = custos.log_labels(version.pk, labels)
    assert got["kind"] == "labels" and got["rows"] == 100 and sorted(got["columns"]) == ["label", "prediction_id"]

    upload = roots / "later.parquet"
    make_frame(200, seed=11).to_parquet(upload)
    filed = custos.log_file(version.pk, upload)
    assert filed["source"] == "upload" and filed["rows"] == 200
    assert LoggedBatch.objects.filter(model_version=version).count() == 3

    again = custos.run_monitor(monitor.pk, batches=[filed["id"]])
    assert again["status"] == "succeeded" and custos.run(again["id"])["id"] == again["id"]


def test_the_api_errors_reach_the_caller_with_status_and_code(live_server, tokens, roots):
    raw, read_only = tokens
    version = ModelVersionFactory()
    with pytest.raises(MonitoringClientError) as refused:
        MonitoringClient(live_server.url, token=read_only).log_predictions(version.pk, [{"prediction_id": "a", "x": 1}])
    assert refused.value.status == 403 and refused.value.code
    with pytest.raises(MonitoringClientError) as bad:
        MonitoringClient(live_server.url, token=raw).log_predictions(version.pk, [{"prediction_id": "a"}, {"prediction_id": "a"}])
    assert bad.value.status == 400 and bad.value.code == "invalid" and "repeats" in bad.value.message
    with pytest.raises(MonitoringClientError) as wrong:
        MonitoringClient(live_server.url, token="cst_not-a-token").alerts()
    assert wrong.value.status == 401
    with pytest.raises(MonitoringClientError) as gone:
        MonitoringClient("http://127.0.0.1:9", token=raw, timeout=2).alerts()
    assert gone.value.status == 0 and gone.value.code == "unreachable"
    with pytest.raises(ValueError):
        MonitoringClient("ftp://example.org", token=raw)


def test_the_client_module_imports_without_django():
    path = Path(__file__).resolve().parents[2] / "monitoring" / "client.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('custos_client', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert 'django' not in sys.modules and 'pandas' not in sys.modules, sorted(sys.modules)\n"
        "print(m.rows_of([{'a': float('nan')}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[{'a': None}]"
