"""Fills a real MLflow tracking server for tests/monitoring/explain/test_mlflow_sync.py. Runs in the
MLflow virtualenv (.venv/mlflow, see mlflow_venv.sh), never imported by the test process:

    .venv/mlflow/bin/python mlflow_populate.py URI STEP

STEP 1: registered model "credit-risk" with version 1 (a skops random forest, params, metrics, moved
to Production) and version 2 (a cloudpickle logistic regression); STEP 2: version 1 archived, a new
metric value on its run; STEP onnx: registered model "churn-onnx" version 1, a logistic regression
converted by skl2onnx and logged with MLflow's onnx flavour, printing also the class-1 probabilities
of the sklearn model on the first 5 rows of X (the test compares the ONNX artifact's). Prints
{"runs": {version: run_id}} as JSON."""

import json
import sys

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

uri, step = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient()
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
if step == "1":
    runs = {}
    with mlflow.start_run() as run:
        model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
        mlflow.log_params({"n_estimators": 5, "max_depth": 3})
        mlflow.log_metric("auc", 0.5)
        mlflow.log_metric("auc", 0.91)
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=["sklearn.tree._tree.Tree"],
            registered_model_name="credit-risk",
        )
        runs["1"] = run.info.run_id
    with mlflow.start_run() as run:
        model = LogisticRegression().fit(X, y)
        mlflow.log_param("C", 1.0)
        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle", registered_model_name="credit-risk")
        runs["2"] = run.info.run_id
    client.transition_model_version_stage("credit-risk", "1", "Production")
    client.update_registered_model("credit-risk", description="scores loan applications")
    print(json.dumps({"runs": runs}))
elif step == "onnx":
    import mlflow.onnx
    from skl2onnx import to_onnx

    model = LogisticRegression().fit(X, y)
    onnx_model = to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False}, target_opset=17)
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.onnx.log_model(onnx_model, name="model", registered_model_name="churn-onnx")
    expected = model.predict_proba(X[:5])[:, 1].tolist()
    print(json.dumps({"runs": {"1": run.info.run_id}, "X": X[:5].tolist(), "proba": expected}))
else:
    version = client.get_model_version("credit-risk", "1")
    client.transition_model_version_stage("credit-risk", "1", "Archived")
    client.log_metric(version.run_id, "auc", 0.87)
    print(json.dumps({"runs": {"1": version.run_id}}))
