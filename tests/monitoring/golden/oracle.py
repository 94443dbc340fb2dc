"""Run Evidently 0.7.23 on the seeded cases and print its results as JSON (run by regenerate.py).

Runs only inside Evidently's own venv (pandas < 3). For every case it records Evidently's kind inference
per column, its default report (DataDriftTable through the legacy Report, which is what the new API's
DataDriftPreset / DriftedColumnsCount calls), every drift method forced on every column it applies to,
options (thresholds, drift share), and the new API's DriftedColumnsCount as a cross-check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
import evidently  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.core.datasets import infer_column_type  # noqa: E402
from evidently.legacy.calculations.stattests.registry import _registered_stat_tests  # noqa: E402
from evidently.legacy.metrics import DataDriftTable, DatasetDriftMetric  # noqa: E402
from evidently.legacy.pipeline.column_mapping import ColumnMapping  # noqa: E402
from evidently.legacy.report import Report as LegacyReport  # noqa: E402
from evidently.metrics import DriftedColumnsCount  # noqa: E402

DISPLAY_TO_NAME = {t.display_name: name for name, by_kind in _registered_stat_tests.items() for t in by_kind.values()}
METHOD_KINDS = {
    "ks": {"num"},
    "chisquare": {"cat"},
    "z": {"cat"},
    "wasserstein": {"num"},
    "jensenshannon": {"num", "cat"},
    "psi": {"num", "cat"},
    "kl_div": {"num", "cat"},
    "hellinger": {"num", "cat"},
    "TVD": {"cat"},
}


def _num(x):
    x = float(x)
    return None if np.isnan(x) else x


def _table(ref, cur, kinds, columns, **kwargs) -> dict:
    mapping = ColumnMapping(
        target=None,
        prediction=None,
        numerical_features=[c for c in columns if kinds[c] == "num"],
        categorical_features=[c for c in columns if kinds[c] == "cat"],
    )
    report = LegacyReport(metrics=[DataDriftTable(columns=columns, **kwargs)])
    report.run(reference_data=ref[columns].copy(), current_data=cur[columns].copy(), column_mapping=mapping)
    result = report.as_dict()["metrics"][0]["result"]
    return {
        "number_of_columns": result["number_of_columns"],
        "number_of_drifted_columns": result["number_of_drifted_columns"],
        "share_of_drifted_columns": result["share_of_drifted_columns"],
        "dataset_drift": bool(result["dataset_drift"]),
        "columns": {
            name: {
                "kind": c["column_type"],
                "method": DISPLAY_TO_NAME[c["stattest_name"]],
                "score": _num(c["drift_score"]),
                "threshold": float(c["stattest_threshold"]),
                "drifted": bool(c["drift_detected"]),
            }
            for name, c in result["drift_by_columns"].items()
        },
    }


def _dataset_metric(ref, cur, kinds, columns, share: float) -> dict:
    mapping = ColumnMapping(
        target=None,
        prediction=None,
        numerical_features=[c for c in columns if kinds[c] == "num"],
        categorical_features=[c for c in columns if kinds[c] == "cat"],
    )
    report = LegacyReport(metrics=[DatasetDriftMetric(columns=columns, drift_share=share)])
    report.run(reference_data=ref[columns].copy(), current_data=cur[columns].copy(), column_mapping=mapping)
    result = report.as_dict()["metrics"][0]["result"]
    return {
        k: result[k]
        for k in ("drift_share", "number_of_columns", "number_of_drifted_columns", "share_of_drifted_columns", "dataset_drift")
    }


def run_case(name: str) -> dict:
    ref, cur, kinds = datasets.case(name)
    columns = list(kinds)
    out: dict = {
        "fingerprint": {"reference": datasets.fingerprint(ref), "current": datasets.fingerprint(cur)},
        "inferred_kinds": {c: infer_column_type(ref[c]).value for c in ref.columns},
        "default": _table(ref, cur, kinds, columns),
        "methods": {},
        "options": {},
    }
    for method, method_kinds in METHOD_KINDS.items():
        cols = [c for c in columns if kinds[c] in method_kinds]
        out["methods"][method] = _table(ref, cur, kinds, cols, per_column_stattest=dict.fromkeys(cols, method))
    for share in (0.2, 0.6):
        out["options"][f"drift_share_{share}"] = _dataset_metric(ref, cur, kinds, columns, share)
    # thresholds: per-column beats per-kind beats all-columns
    out["options"]["thresholds"] = _table(
        ref,
        cur,
        kinds,
        columns,
        stattest_threshold=0.2,
        num_stattest_threshold=0.01,
        per_column_stattest_threshold={"num_shift": 0.5, "cat_color": 0.001},
    )
    out["options"]["methods"] = _table(
        ref, cur, kinds, columns, stattest="psi", cat_stattest="hellinger", per_column_stattest={"num_same": "ks"}
    )
    # the new API on the same data, kinds declared the same way
    definition = DataDefinition(
        numerical_columns=[c for c in columns if kinds[c] == "num"], categorical_columns=[c for c in columns if kinds[c] == "cat"]
    )
    for share in (0.5, 0.2):
        snapshot = Report([DriftedColumnsCount(drift_share=share)]).run(
            Dataset.from_pandas(cur[columns].copy(), data_definition=definition),
            Dataset.from_pandas(ref[columns].copy(), data_definition=definition),
        )
        metric = snapshot.dict()["metrics"][0]
        out["options"][f"new_api_drift_share_{share}"] = {"count": metric["value"]["count"], "share": metric["value"]["share"]}
    return out


def main() -> None:
    result = {
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "cases": {name: run_case(name) for name, *_ in datasets.CASES},
    }
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
