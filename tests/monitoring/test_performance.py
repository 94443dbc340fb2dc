"""Realized performance (scikit-learn), Evidently's default tests, CBPE and the streaming detectors."""

import numpy as np
import pytest
from sklearn import metrics as skm

from monitoring.stats.concept import DDM, PageHinkley, concept_drift_suspected
from monitoring.stats.performance import CBPE, classification_metrics, performance_tests, regression_metrics


def test_it_computes_classification_metrics_as_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.6 + rng.random(500) * 0.5, 0, 1)
    pred = (p >= 0.5).astype(int)
    m = classification_metrics(y, pred, p)
    assert m["f1"] == skm.f1_score(y, pred) and m["roc_auc"] == skm.roc_auc_score(y, p)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p))


def test_it_computes_regression_metrics():
    m = regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    assert m["mae"] == pytest.approx(0.5) and m["rmse"] == pytest.approx(np.sqrt((0.25 + 1) / 3))
    assert m["mape"] == pytest.approx((0.5 + 0 + 0.25) / 3)


def test_it_applies_evidentlys_relative_bounds():
    cls = {t.metric: t for t in performance_tests({"accuracy": 0.8}, {"accuracy": 0.63}, task="classification")}
    assert cls["accuracy"].lower == pytest.approx(0.64) and not cls["accuracy"].passed
    reg = {t.metric: t for t in performance_tests({"mae": 2.0}, {"mae": 2.19}, task="regression")}
    assert reg["mae"].upper == pytest.approx(2.2) and reg["mae"].passed


def test_cbpe_gives_the_hand_computed_expected_confusion_matrix():
    # uncalibrated probabilities, predictions at 0.5
    proba = np.array([0.9, 0.8, 0.6, 0.4, 0.3, 0.1])
    pred = np.array([1, 1, 1, 0, 0, 0])
    cm = CBPE(calibrate=False).expected_confusion(pred, proba)
    # TP = .9+.8+.6 = 2.3, FP = .1+.2+.4 = .7, FN = .4+.3+.1 = .8, TN = .6+.7+.9 = 2.2
    assert (cm.tp, cm.fp, cm.fn, cm.tn) == pytest.approx((2.3, 0.7, 0.8, 2.2))
    m = cm.metrics()
    assert (
        m["accuracy"] == pytest.approx(4.5 / 6)
        and m["precision"] == pytest.approx(2.3 / 3)
        and m["recall"] == pytest.approx(2.3 / 3.1)
    )


def test_cbpe_estimates_close_to_realized_performance_on_calibrated_data():
    rng = np.random.default_rng(3)
    p = rng.beta(2, 2, 40_000)
    y = (rng.random(p.size) < p).astype(int)  # calibrated by construction
    pred = (p >= 0.5).astype(int)
    est = CBPE().fit(y[:20_000], p[:20_000]).estimate(pred[20_000:], p[20_000:])
    real = classification_metrics(y[20_000:], pred[20_000:], p[20_000:])
    for k in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert est[k] == pytest.approx(real[k], abs=0.01), k


def test_page_hinkley_detects_a_rise_in_the_error_and_not_a_stable_stream():
    rng = np.random.default_rng(4)
    stable = rng.normal(1.0, 0.2, 5000)
    assert PageHinkley().run(stable) == []
    stream = np.concatenate([stable[:2000], rng.normal(1.5, 0.2, 500)])
    hits = PageHinkley().run(stream)
    assert hits and 2000 <= hits[0] < 2200


def test_ddm_detects_a_jump_in_the_error_rate():
    rng = np.random.default_rng(5)
    errors = np.concatenate([rng.random(3000) < 0.1, rng.random(1000) < 0.4]).astype(int)
    hits = DDM().run(errors)
    assert hits and 3000 <= hits[0] < 3200
    # DDM's known weakness: a lucky start (few errors in the first rows) makes p_min + s_min tiny, so the
    # stable-stream check uses a longer warm-up, as one does on noisy streams
    assert DDM(min_instances=200).run((rng.random(3000) < 0.1).astype(int)) == []


def test_it_suspects_concept_drift_only_when_inputs_are_stable():
    assert concept_drift_suspected(performance_failed=True, dataset_drift=False)
    assert not concept_drift_suspected(performance_failed=True, dataset_drift=True)


def test_the_runs_page_hinkley_settings_stay_quiet_on_stable_errors_and_catch_a_jump():
    from monitoring.services.performance import CLASSIFICATION_PH

    delays = []
    for seed in range(20):
        rng = np.random.default_rng(50 + seed)
        stable = (rng.random(3000) < 0.3).astype(float)
        assert PageHinkley(**CLASSIFICATION_PH).run(stable) == [], seed
        jump = np.concatenate([stable[:1500], (rng.random(500) < 0.7).astype(float)])
        hits = PageHinkley(**CLASSIFICATION_PH).run(jump)
        assert hits and hits[0] >= 1500
        delays.append(hits[0] - 1500)
    assert np.median(delays) < 120
