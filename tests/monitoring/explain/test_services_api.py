"""Artifacts, explanations and fairness assessments through the services and the REST API: the role
matrix, audit events in the same transaction, SHA-256 checked at every load, pickles refused."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from django.core.exceptions import PermissionDenied, ValidationError
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from audit.models import AuditEvent
from monitoring.explain import services
from monitoring.explain.models import Explanation, FairnessAssessment, ModelArtifact
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    services._CACHE.clear()
    return tmp_path


def _train():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["income", "debt", "age"])
    y = (X.income - X.debt > 0).astype(int)
    return X, y


@pytest.fixture
def forest_bytes():
    X, y = _train()
    return sio.dumps(RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0).fit(X, y))


class Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_steward_uploads_an_artifact_and_the_upload_is_audited(users, forest_bytes):
    version = ModelVersionFactory()
    artifact = services.artifact_upload(actor=users["steward"], model_version=version, data=forest_bytes)
    assert artifact.format == "skops" and len(artifact.sha256) == 64 and artifact.size == len(forest_bytes)
    event = AuditEvent.objects.get(action="explain.artifact_upload")
    assert event.target_id == str(artifact.pk) and event.details["sha256"] == artifact.sha256


def test_viewers_and_auditors_may_not_upload_or_explain(users, forest_bytes):
    version = ModelVersionFactory()
    for role in ("viewer", "auditor"):
        with pytest.raises(PermissionDenied, match=f"{role} may not add model artifacts"):
            services.artifact_upload(actor=users[role], model_version=version, data=forest_bytes)
    artifact = services.artifact_upload(actor=users["service"], model_version=version, data=forest_bytes)
    with pytest.raises(PermissionDenied):
        services.explanation_create(actor=users["viewer"], artifact=artifact, rows=_train()[0].iloc[:1])


def test_an_explanation_is_stored_with_its_evidence_and_audited(users, forest_bytes):
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=forest_bytes)
    X, _ = _train()
    explanation = services.explanation_create(actor=users["service"], artifact=artifact, rows=X.iloc[:4])
    assert explanation.explainer == "treeshap-path-dependent" and explanation.sample_size == 4
    assert explanation.max_abs_residual < 1e-9 and len(explanation.dataset_sha256) == 64
    assert "raised" in explanation.summary or "lowered" in explanation.summary
    event = AuditEvent.objects.get(action="explain.explanation_create")
    assert event.details["artifact_sha256"] == artifact.sha256 and event.details["rows"] == 4


def test_a_tampered_stored_artifact_is_refused_at_load(users, forest_bytes):
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=forest_bytes)
    with open(artifact.file.path, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ValidationError, match="SHA-256 does not match"):
        services.explanation_create(actor=users["steward"], artifact=artifact, rows=_train()[0].iloc[:1])
    assert not Explanation.objects.exists()


def test_a_pickle_upload_is_kept_untrusted_refused_at_load_and_never_executed(users, media):
    marker = media / "pwned"
    data = pickle.dumps(Exploit(marker))
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=data)
    assert artifact.format == "pickle" and artifact.trusted is False
    with pytest.raises(ValidationError, match="not marked trusted"):
        services.explanation_create(actor=users["steward"], artifact=artifact, rows=pd.DataFrame({"a": [1.0]}))
    assert not marker.exists()
    with pytest.raises(PermissionDenied, match="steward may not administer artifact trust"):
        services.artifact_mark_trusted(actor=users["steward"], artifact=artifact, reason="built in-house")
    with pytest.raises(ValidationError, match="reason"):
        services.artifact_mark_trusted(actor=users["admin"], artifact=artifact, reason="  ")
    assert not marker.exists()


def test_an_admin_marks_a_pickle_trusted_with_a_reason_audited(users):
    X, y = _train()
    model = LogisticRegression().fit(X, y)
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=pickle.dumps(model))
    services.artifact_mark_trusted(actor=users["admin"], artifact=artifact, reason="built by our own pipeline, ticket 42")
    event = AuditEvent.objects.get(action="explain.artifact_trust")
    assert event.reason == "built by our own pipeline, ticket 42"
    artifact.refresh_from_db()
    explanation = services.explanation_create(actor=users["steward"], artifact=artifact, rows=X.iloc[:1], method="permutation")
    assert explanation.explainer == "permutation-shapley"


def test_a_skops_upload_with_untrusted_types_is_refused_and_nothing_is_stored(users, media):
    X, y = _train()
    model = LogisticRegression().fit(X, y)
    model.exploit_ = Exploit(media / "pwned")
    with pytest.raises(ValidationError, match="outside the trusted list"):
        services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=sio.dumps(model))
    assert not ModelArtifact.objects.exists() and not (media / "pwned").exists()


def test_the_api_uploads_explains_and_lists_by_role(api_as, forest_bytes):
    version = ModelVersionFactory()
    upload = io.BytesIO(forest_bytes)
    upload.name = "model.skops"
    r = api_as("viewer").post("/api/v1/explain/artifacts", {"model_version": version.pk, "file": upload}, format="multipart")
    assert r.status_code == 403
    upload.seek(0)
    r = api_as("steward").post("/api/v1/explain/artifacts", {"model_version": version.pk, "file": upload}, format="multipart")
    assert r.status_code == 201, r.content
    artifact_id = r.json()["id"]
    rows = [{"income": 1.2, "debt": -0.3, "age": 0.1}]
    r = api_as("service").post(f"/api/v1/explain/artifacts/{artifact_id}/explain", {"rows": rows}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["explainer"] == "treeshap-path-dependent" and body["output"] == "probability"
    (row,) = body["rows"]
    assert abs(body["base_value"] + sum(row["contributions"].values()) - row["prediction"]) < 1e-9
    assert (
        api_as("auditor").post(f"/api/v1/explain/artifacts/{artifact_id}/explain", {"rows": rows}, format="json").status_code
        == 403
    )
    listed = api_as("auditor").get("/api/v1/explain/explanations").json()
    assert listed["count"] == 1 if "count" in listed else len(listed) == 1
    assert api_as(None).get("/api/v1/explain/explanations").status_code == 401


def test_the_api_answers_bad_rows_with_a_400_that_names_columns_not_values(api_as, users, forest_bytes):
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=forest_bytes)
    r = api_as("steward").post(
        f"/api/v1/explain/artifacts/{artifact.pk}/explain", {"rows": [{"income": "Jane Doe", "debt": 1, "age": 2}]}, format="json"
    )
    assert r.status_code == 400
    assert "Jane Doe" not in r.content.decode() and "income" in r.content.decode()


def test_the_api_assesses_fairness_of_a_dataset_and_stores_it(api_as, media):
    rng = np.random.default_rng(1)
    n = 1000
    pd.DataFrame(
        {"sex": rng.choice(["f", "m"], n), "approved": (rng.random(n) < 0.4).astype(int), "y": rng.integers(0, 2, n)}
    ).to_csv(media / "decisions.csv", index=False)
    payload = {
        "location": str(media / "decisions.csv"),
        "prediction": "approved",
        "group": ["sex"],
        "label": "y",
        "positive": "1",
    }
    assert api_as("viewer").post("/api/v1/explain/fairness", payload, format="json").status_code == 403
    r = api_as("steward").post("/api/v1/explain/fairness", payload, format="json")
    assert r.status_code == 201, r.content
    report = r.json()["report"]
    assert [g["group"] for g in report["groups"]] == ["f", "m"] and report["n"] == n
    assert FairnessAssessment.objects.count() == 1
    assert AuditEvent.objects.filter(action="explain.fairness_assess").count() == 1
    refused = api_as("steward").post("/api/v1/explain/fairness", {**payload, "location": "/etc/shadow.csv"}, format="json")
    assert refused.status_code == 400 and "/etc/shadow" not in refused.content.decode()


def test_the_api_stores_a_global_explanation_with_scikit_learns_numbers(api_as, users, forest_bytes, media):
    from sklearn.inspection import permutation_importance

    X, y = _train()
    frame = X.assign(label=y)
    frame.to_csv(media / "eval.csv", index=False)
    artifact = services.artifact_upload(actor=users["steward"], model_version=ModelVersionFactory(), data=forest_bytes)
    r = api_as("steward").post(
        f"/api/v1/explain/artifacts/{artifact.pk}/global",
        {
            "location": str(media / "eval.csv"),
            "label": "label",
            "n_repeats": 3,
            "seed": 5,
            "sample_size": 200,
            "features": ["income"],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["scope"] == "global" and body["sample_size"] == 200 and body["seed"] == 5
    model = sio.loads(forest_bytes, trusted=sio.get_untrusted_types(data=forest_bytes))
    rows = pd.read_csv(media / "eval.csv").sample(n=200, random_state=5).sort_index()
    direct = permutation_importance(model, rows[["income", "debt", "age"]], rows["label"], n_repeats=3, random_state=5)
    assert [d["mean"] for d in body["result"]["permutation_importance"]] == list(direct.importances_mean)
    assert body["result"]["partial_dependence"][0]["feature"] == "income"
    assert api_as("auditor").post(f"/api/v1/explain/artifacts/{artifact.pk}/global", {}, format="json").status_code == 403


def test_protected_attributes_come_from_the_asset_s_confirmed_classifications(users, media):
    from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

    rng = np.random.default_rng(2)
    n = 600
    pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "ethnicity": rng.choice(["a", "b", "c"], n),
            "zip": rng.choice(["1", "2"], n),
            "approved": rng.integers(0, 2, n),
        }
    ).to_csv(media / "decisions.csv", index=False)
    asset = AssetFactory(location=str(media / "decisions.csv"))
    for name, entity, state in [
        ("sex", "GENDER", "confirmed"),
        ("ethnicity", "RACE_ETHNICITY", "confirmed"),
        ("zip", "RACE_ETHNICITY", "suggested"),
    ]:
        ClassificationFactory(column=ColumnFactory(asset=asset, name=name), entity_type=entity, state=state)
    ColumnFactory(asset=asset, name="approved")
    assessment = services.fairness_assess(actor=users["steward"], asset=asset, prediction="approved", positive="1")
    assert assessment.attributes == ["sex", "ethnicity"]  # the suggested-only column is not taken
    assert set(assessment.report["by_attribute"]) == {"sex", "ethnicity"}
    assert assessment.report["by_attribute"]["ethnicity"]["attributes"] == ["ethnicity"]
    bare = AssetFactory(location=str(media / "decisions.csv"))
    with pytest.raises(ValidationError, match="no column confirmed as a protected attribute"):
        services.fairness_assess(actor=users["steward"], asset=bare, prediction="approved")


def test_the_explain_endpoints_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path in (
        "/api/v1/explain/artifacts",
        "/api/v1/explain/artifacts/{id}/explain",
        "/api/v1/explain/artifacts/{id}/global",
        "/api/v1/explain/explanations",
        "/api/v1/explain/fairness",
    ):
        assert path in paths or f"{path}/" in paths, path  # the router serves both spellings
    explain = (paths.get("/api/v1/explain/artifacts/{id}/explain") or paths["/api/v1/explain/artifacts/{id}/explain/"])["post"]
    assert "rows" in str(explain["requestBody"]) or "ExplainRequest" in str(explain["requestBody"])
