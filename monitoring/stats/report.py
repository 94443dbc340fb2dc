"""The drift report's JSON contract (docs/monitoring.md, "drift_report"):

    {"dataset_drift": bool, "share_drifted": float,
     "columns": [{"name", "method", "score", "threshold", "drifted", "n_ref", "n_cur"}]}

`columns` lists the tested columns in the order asked for; methods carry Evidently's names. A score that
is not a number (Evidently can produce NaN, e.g. a KS test between constants) is written as null.
"""

from __future__ import annotations

import math

from .drift import DatasetDrift

COLUMN_KEYS = ("name", "method", "score", "threshold", "drifted", "n_ref", "n_cur")


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def report_json(report: DatasetDrift) -> dict:
    return {
        "dataset_drift": bool(report.dataset_drift),
        "share_drifted": float(report.share_drifted),
        "columns": [
            {
                "name": c.name,
                "method": c.method,
                "score": _number(c.score),
                "threshold": c.threshold,
                "drifted": bool(c.drifted),
                "n_ref": c.n_ref,
                "n_cur": c.n_cur,
            }
            for c in report.tested
        ],
    }
