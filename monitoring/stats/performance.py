"""Model performance: realized metrics once labels arrive, Evidently's default tests, and CBPE.

Realized metrics use scikit-learn's definitions. Classification (binary, positive label 1): accuracy,
precision, recall, F1, ROC AUC, log loss. Regression: MAE, RMSE, MAPE (as a fraction), R2.

Evidently's default tests against a reference: a classification metric passes when it is within +/-20 %
of its reference value, a regression metric within +/-10 % (Evidently: `approx(reference, relative=0.2)`
resp. 0.1); every test result says the bounds it used.

CBPE (NannyML's confidence-based performance estimation) for binary classification without labels:
with calibrated probabilities p (isotonic regression fitted on the reference's labels), a prediction of
1 is a true positive with probability p and a false positive with 1 - p; a prediction of 0 is a false
negative with p and a true negative with 1 - p. Summing gives the expected confusion matrix and the
metrics derived from it; ROC AUC is estimated from the expected TPR/FPR curve over the sorted scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

CLASSIFICATION_RELATIVE = 0.2
REGRESSION_RELATIVE = 0.1
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")


def classification_metrics(y_true, y_pred, y_proba=None) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
    }
    if y_proba is not None and len(np.unique(y_true)) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y_true, y_proba))
        out["log_loss"] = float(skm.log_loss(y_true, np.clip(y_proba, 1e-15, 1 - 1e-15), labels=[0, 1]))
    return out


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return {
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mape": float(skm.mean_absolute_percentage_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)),
    }


@dataclass(frozen=True)
class MetricTest:
    metric: str
    reference: float
    current: float
    lower: float
    upper: float
    passed: bool
    rule: str


def performance_tests(reference: dict[str, float], current: dict[str, float], *, task: str) -> list[MetricTest]:
    """Evidently's default tests: each current metric within +/-20 % (classification) or +/-10 % (regression)."""
    relative = CLASSIFICATION_RELATIVE if task == "classification" else REGRESSION_RELATIVE
    out = []
    for name in reference.keys() & current.keys():
        ref, cur = reference[name], current[name]
        span = abs(ref) * relative
        lower, upper = ref - span, ref + span
        out.append(
            MetricTest(
                name,
                ref,
                cur,
                lower,
                upper,
                lower <= cur <= upper,
                f"within +/-{relative:.0%} of the reference (Evidently default)",
            )
        )
    return sorted(out, key=lambda t: t.metric)


@dataclass(frozen=True)
class ExpectedConfusion:
    tp: float
    fp: float
    fn: float
    tn: float

    @property
    def n(self) -> float:
        return self.tp + self.fp + self.fn + self.tn

    def metrics(self) -> dict[str, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return {
            "accuracy": (self.tp + self.tn) / self.n,
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        }


class CBPE:
    """Fitted on a reference with labels; estimates binary-classification performance on unlabeled data."""

    def __init__(self, *, calibrate: bool = True) -> None:
        self.calibrate = calibrate
        self._iso: IsotonicRegression | None = None

    def fit(self, y_true, y_proba) -> CBPE:
        if self.calibrate:
            self._iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                np.asarray(y_proba, float), np.asarray(y_true, float)
            )
        return self

    def calibrated(self, y_proba) -> np.ndarray:
        p = np.asarray(y_proba, float)
        return self._iso.predict(p) if self._iso is not None else p

    def expected_confusion(self, y_pred, y_proba) -> ExpectedConfusion:
        p = self.calibrated(y_proba)
        pos = np.asarray(y_pred) == 1
        return ExpectedConfusion(
            tp=float(p[pos].sum()), fp=float((1 - p[pos]).sum()), fn=float(p[~pos].sum()), tn=float((1 - p[~pos]).sum())
        )

    def estimate(self, y_pred, y_proba) -> dict[str, float]:
        out = self.expected_confusion(y_pred, y_proba).metrics()
        out["roc_auc"] = self.estimated_roc_auc(y_proba)
        return out

    def estimated_roc_auc(self, y_proba) -> float:
        raw = np.asarray(y_proba, float)
        p = self.calibrated(raw)
        order = np.argsort(-raw, kind="stable")
        p = p[order]
        tpr = np.concatenate(([0.0], np.cumsum(p) / p.sum()))
        fpr = np.concatenate(([0.0], np.cumsum(1 - p) / (1 - p).sum()))
        return float(np.trapezoid(tpr, fpr))
