"""MLflow registry sync against a real MLflow tracking server (3.17.2 on SQLite, started here from its
own virtualenv, tests/monitoring/explain/mlflow_venv.sh) filled by mlflow_populate.py with MLflow's
own client: registered model, versions, stages, params, metrics and model files reach the catalog,
each change audited; a second sync changes nothing; MLflow-side changes arrive as audited updates;
the skops model file loads under Custos's rules and the cloudpickle one is refused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from catalog.models import MLModel, ModelVersion
from monitoring.explain import services
from monitoring.explain.artifacts import ArtifactRefused
from monitoring.explain.mlflow_sync import Client, MlflowError, mlflow_sync
from monitoring.explain.models import ModelArtifact
from monitoring.explain.tasks import mlflow_sync_task

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CUSTOS_TEST_MLFLOW_VENV", HERE.parents[2] / ".venv" / "mlflow"))
MLFLOW = VENV / "bin" / "mlflow"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    if not MLFLOW.exists():
        if os.environ.get("CUSTOS_REQUIRE_MLFLOW"):
            pytest.fail(f"no MLflow at {MLFLOW}: run tests/monitoring/explain/mlflow_venv.sh")
        pytest.skip(f"no MLflow at {MLFLOW}: run tests/monitoring/explain/mlflow_venv.sh (CUSTOS_REQUIRE_MLFLOW=1 fails instead)")
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    log = (root / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 -- our own venv's executable, fixed arguments
        [str(MLFLOW), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the MLflow server did not start: " + (root / "server.log").read_text()[-2000:])
            time.sleep(1)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _populate(uri: str, step: str) -> dict:
    out = subprocess.run(  # noqa: S603
        [str(VENV / "bin" / "python"), str(HERE / "mlflow_populate.py"), uri, step],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_real_mlflow_registry_is_synced_into_the_catalog(mlflow_server, users, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    runs = _populate(mlflow_server, "1")["runs"]
    report = mlflow_sync(actor=users["admin"], tracking_uri=mlflow_server)
    c = report.counts
    assert (c["registered_models"], c["models_created"], c["versions_created"], c["artifacts_stored"]) == (1, 1, 2, 2)
    model = MLModel.objects.get(name="credit-risk")
    assert model.description == "scores loan applications"
    v1, v2 = ModelVersion.objects.get(model=model, version="1"), ModelVersion.objects.get(model=model, version="2")
    assert v1.stage == "production" and v2.stage == "development"
    assert v1.hyperparameters == {"n_estimators": "5", "max_depth": "3"} and v1.metrics == {"auc": 0.91}  # latest value
    assert v2.hyperparameters == {"C": "1.0"} and v1.artifact_uri == "models:/credit-risk/1"
    assert v1.framework == "sklearn 1.9.1"
    registered = AuditEvent.objects.filter(action="catalog.model_version.register").values_list("target_id", flat=True)
    assert sorted(registered) == sorted([str(v1.pk), str(v2.pk)])
    sync_event = AuditEvent.objects.get(action="explain.mlflow_sync")
    assert sync_event.target_id == mlflow_server and sync_event.details["versions_created"] == 2

    # the model files: skops loads under Custos's trusted list; cloudpickle is stored but refused
    a1, a2 = ModelArtifact.objects.get(model_version=v1), ModelArtifact.objects.get(model_version=v2)
    assert a1.format == "skops" and a1.source == "mlflow" and a1.source_uri == "models:/credit-risk/1#model.skops"
    assert a2.format == "pickle"
    loaded, tree = services.artifact_load(a1)
    X = np.random.default_rng(1).normal(size=(20, 3))
    assert tree is not None and loaded.predict_output(X).shape == (20,)
    with pytest.raises(ArtifactRefused, match="not marked trusted"):
        services.artifact_load(a2)

    # a second sync changes nothing and records nothing but its own event
    before = AuditEvent.objects.count()
    again = mlflow_sync(actor=users["admin"], tracking_uri=mlflow_server)
    assert again.counts["versions_unchanged"] == 2 and again.counts["artifacts_present"] == 2
    assert again.counts["versions_created"] == again.counts["versions_updated"] == again.counts["artifacts_stored"] == 0
    assert AuditEvent.objects.count() == before + 1

    # MLflow-side changes: archived stage and a new metric value arrive as one audited update
    _populate(mlflow_server, "2")
    out = []
    call_command("mlflow_sync", "--tracking-uri", mlflow_server, "--json", "--no-artifacts", stdout=_Sink(out))
    doc = json.loads("".join(out))
    assert doc["counts"]["versions_updated"] == 1 and doc["counts"]["versions_unchanged"] == 1
    v1.refresh_from_db()
    assert v1.stage == "retired" and v1.metrics == {"auc": 0.87}
    update = AuditEvent.objects.get(action="catalog.model_version.update", target_id=str(v1.pk))
    assert update.actor_id == "system:mlflow-sync" and update.reason == f"MLflow registry sync from {mlflow_server}"
    assert update.details["changes"]["stage"] == {"from": "production", "to": "retired"} and update.details["changes"]["metrics"]
    assert len(runs) == 2

    # the scheduled task (beat entry "explain-mlflow-sync", config/settings.py) syncs the configured
    # server as the system actor, and does nothing at all while no server is configured
    settings.CUSTOS_MLFLOW_TRACKING_URI = ""
    before = AuditEvent.objects.count()
    assert mlflow_sync_task() is None and AuditEvent.objects.count() == before
    settings.CUSTOS_MLFLOW_TRACKING_URI = mlflow_server
    counts = mlflow_sync_task()
    assert counts["versions_unchanged"] == 2 and counts["versions_created"] == counts["versions_updated"] == 0
    scheduled = AuditEvent.objects.filter(action="explain.mlflow_sync").latest("pk")
    assert scheduled.actor_id == "system:mlflow-sync" and AuditEvent.objects.count() == before + 1


@pytest.mark.django_db
def test_an_onnx_flavour_model_version_is_synced_and_loads_with_onnxruntime(mlflow_server, users, settings, tmp_path):
    """MLflow's onnx flavour: the version's ``model.onnx`` (the MLmodel's ``data``) is stored as an
    ONNX artifact and loads through onnxruntime, predicting what the scikit-learn model did."""
    settings.MEDIA_ROOT = str(tmp_path)
    logged = _populate(mlflow_server, "onnx")
    report = mlflow_sync(actor=users["admin"], tracking_uri=mlflow_server)
    assert not report.problems, report.problems
    version = ModelVersion.objects.get(model__name="churn-onnx", version="1")
    assert version.framework.startswith("onnx ") and version.artifact_uri == "models:/churn-onnx/1"
    artifact = ModelArtifact.objects.get(model_version=version)
    assert artifact.format == "onnx" and artifact.source == "mlflow"
    assert artifact.source_uri == "models:/churn-onnx/1#model.onnx"
    loaded, tree = services.artifact_load(artifact)
    assert tree is None  # not a tree ensemble: explained by the sampling explainers
    proba = loaded.predict_output(np.asarray(logged["X"], dtype=np.float32))
    np.testing.assert_allclose(proba, logged["proba"], atol=1e-5)  # float32 inference against float64 sklearn


class _Sink:
    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.append(text)

    def flush(self):
        pass


def test_the_client_refuses_credentials_in_the_uri_and_reports_an_unreachable_server():
    with pytest.raises(MlflowError, match="credentials"):
        Client("http://user:secret@127.0.0.1:5000")
    with pytest.raises(MlflowError, match="http"):
        Client("file:///tmp/mlruns")
    client = Client(f"http://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(MlflowError, match="cannot be reached") as exc:
        client.registered_models()
    assert "secret" not in str(exc.value)
    client.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
