"""model_explain and fairness_report: the JSON contracts of docs/explain.md, safe loading (a
malicious pickle is refused and never executed; a tampered artifact is refused), one-line errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from django.core.management import call_command
from django.core.management.base import CommandError
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from monitoring.explain.artifacts import ArtifactRefused, load_bytes, load_file


@pytest.fixture
def root(tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    return tmp_path


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["income", "debt", "age", "tenure"])
    y = (X.income - X.debt + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


class Exploit:
    """Unpickling this runs os.system: the payload a malicious model upload carries."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_model_explain_prints_the_contract_for_a_skops_forest(root):
    X, y = _frame()
    model = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    (root / "m.skops").write_bytes(sio.dumps(model))
    X.iloc[:5].to_csv(root / "rows.csv", index=False)
    doc = _run("model_explain", "--artifact", str(root / "m.skops"), "--data", str(root / "rows.csv"))
    assert doc["explainer"] == "treeshap-path-dependent" and doc["output"] == "probability"
    assert set(doc) >= {"explainer", "base_value", "rows", "output"}
    assert len(doc["rows"]) == 5
    proba = model.predict_proba(X.iloc[:5])[:, 1]
    for row, p in zip(doc["rows"], proba, strict=True):
        assert set(row) == {"prediction", "contributions", "residual"}
        assert list(row["contributions"]) == ["income", "debt", "age", "tenure"]
        assert row["prediction"] == pytest.approx(p, abs=1e-12)
        assert abs(doc["base_value"] + sum(row["contributions"].values()) - row["prediction"]) < 1e-9
    assert doc["artifact_sha256"] == hashlib.sha256((root / "m.skops").read_bytes()).hexdigest()


def test_model_explain_uses_the_margin_for_boosters_and_the_background_for_interventional(root):
    X, y = _frame()
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    (root / "gb.skops").write_bytes(sio.dumps(model))
    X.iloc[:3].to_csv(root / "rows.csv", index=False)
    X.iloc[100:140].to_parquet(root / "bg.parquet")
    doc = _run(
        "model_explain",
        "--artifact",
        str(root / "gb.skops"),
        "--data",
        str(root / "rows.csv"),
        "--background",
        str(root / "bg.parquet"),
    )
    assert doc["explainer"] == "treeshap-interventional" and doc["output"] == "log-odds"
    assert doc["background_size"] == 40 and len(doc["background_sha256"]) == 64
    margins = model.decision_function(X.iloc[:3])
    assert [r["prediction"] for r in doc["rows"]] == pytest.approx(list(margins), abs=1e-12)


def test_model_explain_runs_permutation_and_lime_on_an_onnx_model(root):
    from skl2onnx import to_onnx

    X, y = _frame()
    model = LogisticRegression().fit(X.to_numpy(np.float32), y)
    onx = to_onnx(model, X.to_numpy(np.float32)[:1], options={id(model): {"zipmap": False}})
    (root / "lr.onnx").write_bytes(onx.SerializeToString())
    X.iloc[:2].to_csv(root / "rows.csv", index=False)
    X.iloc[50:80].to_csv(root / "bg.csv", index=False)
    doc = _run(
        "model_explain",
        "--artifact",
        str(root / "lr.onnx"),
        "--data",
        str(root / "rows.csv"),
        "--background",
        str(root / "bg.csv"),
        "--method",
        "permutation",
        "--permutations",
        "24",
    )
    assert doc["explainer"] == "permutation-shapley" and doc["output"] == "probability"
    assert doc["parameters"]["exact"] is True  # 4 features: 24 permutations are all of them
    proba = model.predict_proba(X.iloc[:2].to_numpy(np.float32))[:, 1]
    assert [r["prediction"] for r in doc["rows"]] == pytest.approx(list(proba), abs=1e-6)
    assert max(abs(r["residual"]) for r in doc["rows"]) < 1e-9
    lime = _run("model_explain", "--artifact", str(root / "lr.onnx"), "--data", str(root / "rows.csv"), "--method", "lime")
    assert lime["explainer"] == "lime-ridge-quartile" and len(lime["rows"]) == 2


@pytest.mark.parametrize("name", ["evil.pkl", "evil.skops", "evil.joblib", "evil.onnx"])
def test_a_malicious_pickle_is_refused_and_never_executed(root, name):
    marker = root / "pwned"
    payload = pickle.dumps(Exploit(marker), protocol=pickle.HIGHEST_PROTOCOL)
    (root / name).write_bytes(payload)
    X, _ = _frame(n=3)
    X.to_csv(root / "rows.csv", index=False)
    with pytest.raises(CommandError, match="pickle artifacts are refused"):
        call_command("model_explain", "--artifact", str(root / name), "--data", str(root / "rows.csv"))
    assert not marker.exists()


def test_a_compressed_joblib_pickle_is_refused_and_never_executed(root):
    import joblib

    marker = root / "pwned"
    joblib.dump(Exploit(marker), root / "evil.joblib", compress=3)
    with pytest.raises(ArtifactRefused, match="joblib artifacts are refused"):
        load_file(root / "evil.joblib")
    assert not marker.exists()


def test_a_skops_file_with_an_untrusted_type_is_refused_before_anything_is_built(root):
    X, y = _frame()
    model = LogisticRegression().fit(X, y)
    model.exploit_ = Exploit(root / "pwned")  # an object skops must reconstruct by calling its class
    data = sio.dumps(model)
    with pytest.raises(ArtifactRefused, match="outside the trusted list") as exc:
        load_bytes(data)
    assert "Exploit" in str(exc.value)
    assert not (root / "pwned").exists()


def test_a_tampered_artifact_is_refused_by_its_hash(root):
    X, y = _frame()
    data = sio.dumps(LogisticRegression().fit(X, y))
    digest = hashlib.sha256(data).hexdigest()
    assert load_bytes(data, expected_sha256=digest).sha256 == digest
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0x01
    (root / "m.skops").write_bytes(bytes(tampered))
    X.iloc[:2].to_csv(root / "rows.csv", index=False)
    with pytest.raises(CommandError, match="SHA-256 does not match"):
        call_command("model_explain", "--artifact", str(root / "m.skops"), "--data", str(root / "rows.csv"), "--sha256", digest)


def test_model_explain_errors_are_one_line_and_name_columns_not_values(root):
    X, y = _frame()
    (root / "m.skops").write_bytes(sio.dumps(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)))
    X.drop(columns=["debt"]).iloc[:2].to_csv(root / "rows.csv", index=False)
    with pytest.raises(CommandError, match="lacks the model's feature columns: debt"):
        call_command("model_explain", "--artifact", str(root / "m.skops"), "--data", str(root / "rows.csv"))
    with pytest.raises(CommandError, match="outside the configured data roots"):
        call_command("model_explain", "--artifact", str(root / "m.skops"), "--data", "/etc/passwd.csv")
    with pytest.raises(CommandError, match="not a readable file"):
        call_command("model_explain", "--artifact", str(root / "nope.skops"), "--data", str(root / "rows.csv"))


def test_fairness_report_prints_the_contract(root):
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "approved": rng.integers(0, 2, n), "repaid": rng.integers(0, 2, n)})
    df.to_csv(root / "decisions.csv", index=False)
    doc = _run(
        "fairness_report",
        "--data",
        str(root / "decisions.csv"),
        "--prediction",
        "approved",
        "--group",
        "sex",
        "--label",
        "repaid",
        "--positive",
        "1",
    )
    assert {
        "groups",
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "four_fifths",
    } <= set(doc)
    assert [g["group"] for g in doc["groups"]] == ["f", "m"]
    for g in doc["groups"]:
        assert {"group", "n", "selection_rate", "tpr", "fpr"} <= set(g)
        part = df[df.sex == g["group"]]
        assert g["n"] == len(part) and g["selection_rate"] == (part.approved == 1).mean()
    assert {"ratio", "flag"} <= set(doc["four_fifths"])
    no_label = _run("fairness_report", "--data", str(root / "decisions.csv"), "--prediction", "approved", "--group", "sex")
    assert no_label["equalized_odds_difference"] is None
    assert all(g["tpr"] is None and g["fpr"] is None for g in no_label["groups"])


def test_fairness_report_refuses_a_missing_column_in_one_line(root):
    pd.DataFrame({"g": ["a", "b"], "p": [0, 1]}).to_csv(root / "d.csv", index=False)
    with pytest.raises(CommandError, match="column 'nope' is not in the data"):
        call_command("fairness_report", "--data", str(root / "d.csv"), "--prediction", "nope", "--group", "g")


def test_a_skops_pipeline_naming_a_dangerous_function_is_refused():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _frame(n=50)
    pipeline = make_pipeline(FunctionTransformer(func=os.system), LogisticRegression())
    with pytest.raises(ArtifactRefused, match=r"outside the trusted list: posix\.system"):
        load_bytes(sio.dumps(pipeline))
