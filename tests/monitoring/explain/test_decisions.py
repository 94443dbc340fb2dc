""" "Explain this decision" for a logged prediction id: batches logged through monitoring's own service,
read back through compliance.datasets, scoped for the caller; evidence and audit carry the prediction id
and the batch digest; words carry no row values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from audit.models import AuditEvent
from monitoring import services as monitoring_services
from monitoring.explain import services
from tests.factories import AssetFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

FEATURES = ["income", "debt", "age"]


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    services._CACHE.clear()
    return tmp_path


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    return X, (X.income - X.debt > 0).astype(int)


def _setup(users, model, *, restricted=False):
    X, y = _data()
    model.fit(X, y)
    version = ModelVersionFactory()
    if restricted:
        version.training_datasets.add(AssetFactory(sensitivity="restricted"))
    artifact = services.artifact_upload(actor=users["steward"], model_version=version, data=sio.dumps(model))
    logged = X.iloc[:50].copy()
    logged["prediction_id"] = [f"p-{i}" for i in range(50)]
    logged["prediction"] = model.predict(X.iloc[:50])
    batch = monitoring_services.batch_log(actor=users["steward"], model_version=version, rows=logged)
    return artifact, batch, X, model


def _post(api_as, role, artifact, body):
    return api_as(role).post(f"/api/v1/explain/artifacts/{artifact.pk}/explain", body, format="json")


@pytest.mark.parametrize("role", ["steward", "service"])
def test_a_logged_prediction_is_explained_in_numbers_and_words_with_its_evidence(api_as, users, role):
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    artifact, batch, X, model = _setup(users, forest)
    r = _post(api_as, role, artifact, {"prediction_id": "p-7"})
    assert r.status_code == 201, r.content
    body = r.json()
    # the numbers are those of the logged row 7, recomputed independently here
    values = np.asarray(shap.TreeExplainer(model).shap_values(X.iloc[[7]].to_numpy()))
    expected = values[0, :, 1] if values.ndim == 3 else values[1][0]
    (row,) = body["rows"]
    assert [row["contributions"][f] for f in FEATURES] == pytest.approx(list(np.ravel(expected)), abs=1e-12)
    assert row["prediction"] == pytest.approx(model.predict_proba(X.iloc[[7]])[0, 1], abs=1e-12)
    assert abs(body["base_value"] + sum(row["contributions"].values()) - row["prediction"]) < 1e-9
    top = body["top_contributions"]
    assert [t["feature"] for t in top] == sorted(FEATURES, key=lambda f: -abs(row["contributions"][f]))
    # words: base value, residual and the top feature, never the row's own values
    assert "base value" in body["summary"] and "residual" in body["summary"] and top[0]["feature"] in body["summary"]
    for value in X.iloc[7]:
        assert f"{value:.4g}" not in body["summary"]
    source = body["parameters"]["source"]
    assert source == {"prediction_id": "p-7", "batch_id": batch.pk, "batch_sha256": batch.sha256, "row": 7}
    event = AuditEvent.objects.get(action="explain.explanation_create")
    assert event.details["source"] == source and event.target_id == str(body["id"])


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_auditors_and_viewers_may_not_explain_a_logged_prediction(api_as, users, role):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    r = _post(api_as, role, artifact, {"prediction_id": "p-1"})
    assert r.status_code == 403 and r.json()["error"]["status"] == 403
    assert not AuditEvent.objects.filter(action="explain.explanation_create").exists()


def test_an_unknown_prediction_id_is_a_404_in_the_error_shape(api_as, users):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    r = _post(api_as, "steward", artifact, {"prediction_id": "p-999"})
    assert r.status_code == 404
    assert r.json()["error"]["status"] == 404 and "p-999" not in r.content.decode()


def test_a_user_who_may_not_see_the_model_version_gets_404(api_as, users):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0), restricted=True)
    assert _post(api_as, "service", artifact, {"prediction_id": "p-1"}).status_code == 404
    assert _post(api_as, "steward", artifact, {"prediction_id": "p-1"}).status_code == 201


def test_a_prediction_of_another_model_version_is_not_found(api_as, users):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    other, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=1))
    services.Explanation.objects.all().delete()
    # both versions logged p-1; deleting the first version's batches leaves only the other's
    from monitoring.models import LoggedBatch

    LoggedBatch.objects.filter(model_version=artifact.model_version).delete()
    assert _post(api_as, "steward", artifact, {"prediction_id": "p-1"}).status_code == 404
    assert _post(api_as, "steward", other, {"prediction_id": "p-1"}).status_code == 201


def test_a_batch_changed_after_logging_is_refused(api_as, users):
    artifact, batch, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    with open(batch.location, "ab") as fh:
        fh.write(b"\0")
    r = _post(api_as, "steward", artifact, {"prediction_id": "p-1"})
    assert r.status_code == 400 and "SHA-256" in r.json()["error"]["message"]


def test_a_non_tree_model_is_explained_against_its_own_batch(users):
    from monitoring.explain.decisions import explain_prediction

    artifact, batch, X, model = _setup(users, LogisticRegression())
    explanation = explain_prediction(actor=users["service"], artifact=artifact, prediction_id="p-3", n_permutations=6)
    assert explanation.explainer == "permutation-shapley"
    assert explanation.background_size == 49  # the batch's other rows
    assert explanation.max_abs_residual < 1e-9
    assert explanation.rows[0]["prediction"] == pytest.approx(model.predict_proba(X.iloc[[3]])[0, 1])


def test_rows_and_prediction_id_are_exclusive(api_as, users):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    r = _post(api_as, "steward", artifact, {"prediction_id": "p-1", "rows": [{"income": 1, "debt": 0, "age": 0}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    assert _post(api_as, "steward", artifact, {}).status_code == 400


def test_artifacts_and_explanations_of_a_hidden_version_are_not_listed_nor_explained(api_as, users):
    artifact, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0), restricted=True)
    assert _post(api_as, "steward", artifact, {"prediction_id": "p-1"}).status_code == 201
    for path in ("/api/v1/explain/artifacts", "/api/v1/explain/explanations"):
        assert api_as("service").get(path).json()["count"] == 0
        assert api_as("steward").get(path).json()["count"] == 1
    rows = [{"income": 1.0, "debt": 0.0, "age": 0.0}]
    assert _post(api_as, "service", artifact, {"rows": rows}).status_code == 404


def test_a_batch_changed_after_it_was_read_once_is_refused_on_the_next_call(api_as, users):
    artifact, batch, *_ = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    assert _post(api_as, "steward", artifact, {"prediction_id": "p-1"}).status_code == 201
    import os
    from pathlib import Path

    data = Path(batch.location).read_bytes()
    with open(batch.location, "r+b") as fh:  # same size, one byte flipped, mtime put back
        fh.seek(len(data) // 2)
        fh.write(bytes([data[len(data) // 2] ^ 1]))
    st = os.stat(batch.location)
    os.utime(batch.location, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    r = _post(api_as, "steward", artifact, {"prediction_id": "p-2"})
    assert r.status_code == 400 and "SHA-256" in r.json()["error"]["message"]
    assert AuditEvent.objects.filter(action="explain.explanation_create").count() == 1


def test_later_decisions_of_a_batch_are_looked_up_in_the_rows_verified_once(api_as, users, monkeypatch):
    """The batch is hashed and read once; later ids are found without reading it again, and each answer
    is still the logged row's own explanation."""
    from compliance import datasets
    from monitoring.explain import decisions

    decisions._ROWS.clear()
    artifact, batch, X, model = _setup(users, RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0))
    reads = []
    real_read = datasets.read_frame
    monkeypatch.setattr(datasets, "read_frame", lambda *a, **k: reads.append(1) or real_read(*a, **k))
    for i in (3, 41, 3, 0):
        body = _post(api_as, "steward", artifact, {"prediction_id": f"p-{i}"}).json()
        assert body["parameters"]["source"]["row"] == i
        assert body["rows"][0]["prediction"] == pytest.approx(model.predict_proba(X.iloc[[i]])[0, 1], abs=1e-12)
    assert len(reads) == 1


def test_a_background_from_the_batch_never_holds_the_explained_row():
    from monitoring.explain.decisions import _background_positions

    for position in (0, 7, 49):
        picks = _background_positions(50, position, 49, seed=3)
        assert position not in picks and len(set(picks)) == 49 and picks.max() <= 49
    assert list(_background_positions(1000, 5, 10, seed=1)) == list(_background_positions(1000, 5, 10, seed=1))
