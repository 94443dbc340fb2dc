"""The performance evaluator of a monitor run: realized metrics once labels have arrived, CBPE-estimated
metrics without them, and concept drift (a detector on the error stream; performance failing while the
inputs hold).

* **Labels** are the labels batches of the model version, joined to the window's predictions by the
  monitor's ``id_column`` (the latest label of an id wins). Rows without a label are left out of the
  realized metrics and counted in ``details``.
* **Reference values** for the tests are the metrics realized on the reference asset (when it holds the
  prediction and label columns), else the monitor's ``reference_metrics``. Classification: +/-20 %,
  regression: +/-10 % (Evidently's defaults, monitoring.stats.performance).
* **CBPE** (binary classification): calibrated on the reference's labels and probabilities (isotonic),
  estimated on every row of the window (labelled or not); needs a reference asset with labels.
* **Concept drift**: Page-Hinkley on the 0/1 error stream (classification) or on the absolute error
  divided by the reference MAE (regression), over the labelled rows in logging order, one detector per run (its state is not carried
  between runs); and ``performance_without_input_drift`` when a realized test fails while the dataset
  did not drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from compliance import datasets
from monitoring.choices import BatchKind, ModelTask, ResultKind
from monitoring.data import read_typed_frame
from monitoring.models import LoggedBatch, Monitor, MonitorResult
from monitoring.stats.concept import PageHinkley, concept_drift_suspected
from monitoring.stats.performance import CBPE, classification_metrics, performance_tests, regression_metrics

MIN_LABELLED = 30


def _labels(monitor: Monitor) -> pd.DataFrame | None:
    batches = LoggedBatch.objects.filter(model_version=monitor.model_version, kind=BatchKind.LABELS).order_by("pk")
    frames = []
    for b in batches:
        try:
            frames.append(read_typed_frame(b.location, columns=[monitor.id_column, monitor.label_column]))
        except (datasets.ReadError, OSError, KeyError, ValueError):
            continue  # an unreadable labels file is skipped; the run's details count what was joined
    if not frames:
        return None
    labels = pd.concat(frames, ignore_index=True)
    return labels.drop_duplicates(monitor.id_column, keep="last")


def _metrics(task: str, y, pred, proba) -> dict[str, float]:
    if task == ModelTask.REGRESSION:
        return regression_metrics(y, pred)
    return classification_metrics(y, pred, proba)


def _test_results(kind: str, tests, details: dict) -> list[MonitorResult]:
    return [
        MonitorResult(
            kind=kind,
            name=t.metric,
            method="cbpe" if kind == ResultKind.ESTIMATED else "realized",
            score=float(t.current),
            threshold=float(t.reference),
            threshold_source=t.rule,
            flagged=not t.passed,
            details={**details, "reference": t.reference, "lower": t.lower, "upper": t.upper},
        )
        for t in tests
    ]


def performance_results(monitor: Monitor, reference, current: pd.DataFrame, batches, outcome=None) -> list[MonitorResult]:
    pred_col, proba_col, label_col, id_col = (
        monitor.prediction_column,
        monitor.probability_column,
        monitor.label_column,
        monitor.id_column,
    )
    if pred_col not in current.columns:
        return []
    task = monitor.task
    has_proba = bool(proba_col) and proba_col in current.columns
    ref = reference.frame
    ref_labelled = ref is not None and {pred_col, label_col} <= set(ref.columns)
    ref_metrics: dict[str, float] = dict(monitor.reference_metrics or {})
    if ref_labelled:
        r = ref.dropna(subset=[pred_col, label_col])
        ref_proba = r[proba_col] if has_proba and proba_col in r.columns else None
        ref_metrics = _metrics(task, r[label_col], r[pred_col], ref_proba)
    source = "reference asset" if ref_labelled else "monitor's reference_metrics"
    out: list[MonitorResult] = []

    # realized, on the rows whose label has arrived
    labels = _labels(monitor) if id_col in current.columns else None
    if labels is not None:
        joined = current.merge(labels, on=id_col, how="inner", suffixes=("", "_label"))
        label_name = label_col if label_col in joined.columns and label_col not in current.columns else f"{label_col}_label"
        if label_name not in joined.columns:
            label_name = label_col
        joined = joined.dropna(subset=[label_name, pred_col])
        if len(joined) >= MIN_LABELLED and ref_metrics:
            y, pred = joined[label_name].to_numpy(), joined[pred_col].to_numpy()
            proba = joined[proba_col].to_numpy(float) if has_proba else None
            realized = _metrics(task, y, pred, proba)
            details = {"labelled": int(len(joined)), "unlabelled": int(len(current) - len(joined)), "reference_from": source}
            tests = performance_tests(
                ref_metrics, realized, task="classification" if task == ModelTask.CLASSIFICATION else "regression"
            )
            out += _test_results(ResultKind.PERFORMANCE, tests, details)
            out.append(_detector(task, y, pred, ref_metrics))
            failed = any(r.flagged for r in out if r.kind == ResultKind.PERFORMANCE)
            suspected = concept_drift_suspected(
                performance_failed=failed, dataset_drift=bool(outcome is not None and outcome.dataset_drift)
            )
            out.append(
                MonitorResult(
                    kind=ResultKind.CONCEPT,
                    name="performance_without_input_drift",
                    method="rule",
                    score=1.0 if suspected else 0.0,
                    threshold=1.0,
                    threshold_source="a realized test failed while the dataset did not drift",
                    flagged=suspected,
                    details={"performance_failed": failed},
                )
            )

    # estimated (CBPE), binary classification with probabilities and a labelled reference
    if task == ModelTask.CLASSIFICATION and has_proba and ref_labelled and proba_col in ref.columns:
        r = ref.dropna(subset=[label_col, proba_col])
        if r[label_col].nunique() == 2:
            cbpe = CBPE().fit(r[label_col].to_numpy(int), r[proba_col].to_numpy(float))
            cur = current.dropna(subset=[pred_col, proba_col])
            estimated = cbpe.estimate(cur[pred_col].to_numpy(int), cur[proba_col].to_numpy(float))
            cm = cbpe.expected_confusion(cur[pred_col].to_numpy(int), cur[proba_col].to_numpy(float))
            tests = performance_tests(
                {k: ref_metrics[k] for k in estimated if k in ref_metrics}, estimated, task="classification"
            )
            details = {"rows": int(len(cur)), "expected_confusion": {"tp": cm.tp, "fp": cm.fp, "fn": cm.fn, "tn": cm.tn}}
            out += _test_results(ResultKind.ESTIMATED, tests, details)
    return out


# Page-Hinkley settings for the run's error stream, measured on 200 seeded streams each (docs/monitoring.md):
# 0/1 errors, delta 0.05, threshold 25: no false alarm in 3,000 stable rows at a 0.3 error rate, a jump to
# 0.7 found after 67 rows (median); absolute errors divided by the reference MAE, delta 0.1, threshold 25:
# 6 of 200 stable 3,000-row streams alarm, errors 1.5x larger found after 55 rows (median). DDM
# (monitoring.stats.concept) alarmed on 30 of 200 stable 1,500-row streams at its usual 30-row warm-up.
CLASSIFICATION_PH = {"delta": 0.05, "threshold": 25.0}
REGRESSION_PH = {"delta": 0.1, "threshold": 25.0}


def _detector(task: str, y, pred, ref_metrics: dict[str, float]) -> MonitorResult:
    if task == ModelTask.REGRESSION:
        err = np.abs(np.asarray(y, float) - np.asarray(pred, float))
        scale = ref_metrics.get("mae") or float(np.mean(err[:100])) or 1.0
        stream, params, what = err / scale, REGRESSION_PH, "absolute error / reference MAE"
    else:
        stream, params, what = (np.asarray(y) != np.asarray(pred)).astype(float), CLASSIFICATION_PH, "0/1 error"
    detector = PageHinkley(**params)
    hits = detector.run(stream)
    return MonitorResult(
        kind=ResultKind.CONCEPT,
        name="page_hinkley",
        method="page_hinkley",
        score=float(len(hits)),
        threshold=0.0,
        threshold_source=f"Page-Hinkley detections on the {what} stream > 0",
        flagged=bool(hits),
        details={"stream": int(stream.size), "first_detection": hits[0] if hits else None, **params},
    )
