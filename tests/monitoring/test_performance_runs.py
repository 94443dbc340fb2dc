"""Performance in monitor runs: realized metrics once labels arrive (joined by prediction id), CBPE
without labels, and concept drift (Page-Hinkley on the error stream, performance falling while inputs hold)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from monitoring import services
from monitoring.choices import ResultKind
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db
FEATURES = ["age", "income", "region", "score"]


@pytest.fixture
def monitor(users, version, reference_asset):
    return services.monitor_create(
        actor=users["steward"], model_version=version, name="perf", reference_asset=reference_asset, columns=FEATURES
    )


def _log(users, version, frame, labels_from=None):
    services.batch_log(actor=users["service"], model_version=version, rows=frame.drop(columns=["label"]))
    labelled = frame if labels_from is None else labels_from
    services.batch_log(actor=users["service"], model_version=version, rows=labelled[["prediction_id", "label"]], kind="labels")


def _by(run, kind):
    return {r.name: r for r in run.results.filter(kind=kind)}


def test_realized_metrics_join_late_labels_by_prediction_id_and_match_scikit_learn(users, version, monitor):
    cur = make_frame(2000, seed=11, label=True)
    # only the first 1,500 labels have arrived, in another order
    _log(users, version, cur, labels_from=cur.iloc[:1500].sample(frac=1, random_state=0))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    perf = _by(run, ResultKind.PERFORMANCE)
    part = cur.iloc[:1500]
    assert perf["accuracy"].score == pytest.approx(skm.accuracy_score(part.label, part.prediction), abs=1e-12)
    assert perf["roc_auc"].score == pytest.approx(skm.roc_auc_score(part.label, part.probability), abs=1e-12)
    assert perf["accuracy"].details["labelled"] == 1500 and perf["accuracy"].details["unlabelled"] == 500
    assert not any(r.flagged for r in perf.values())  # the same process as the reference
    assert perf["f1"].details["lower"] == pytest.approx(0.8 * perf["f1"].threshold)
    concept = _by(run, ResultKind.CONCEPT)
    assert not concept["performance_without_input_drift"].flagged and not concept["page_hinkley"].flagged


def test_cbpe_estimates_the_window_without_labels_close_to_what_labels_later_show(users, version, monitor):
    cur = make_frame(4000, seed=12, label=True)
    services.batch_log(actor=users["service"], model_version=version, rows=cur.drop(columns=["label"]))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert not run.results.filter(kind=ResultKind.PERFORMANCE).exists()  # no label yet
    est = _by(run, ResultKind.ESTIMATED)
    assert est["accuracy"].method == "cbpe" and est["accuracy"].details["rows"] == 4000
    cm = est["accuracy"].details["expected_confusion"]
    assert cm["tp"] + cm["fp"] + cm["fn"] + cm["tn"] == pytest.approx(4000)
    for k in ("accuracy", "precision", "recall", "f1"):
        real = getattr(skm, f"{k}_score")(cur.label, cur.prediction)
        assert est[k].score == pytest.approx(real, abs=0.025), k


def test_a_concept_change_flags_performance_page_hinkley_and_the_stable_inputs_rule(users, version, monitor):
    cur = make_frame(3000, seed=13, label=True)
    flipped = cur.copy()
    flipped.loc[1500:, "label"] = 1 - flipped.loc[1500:, "label"]  # same inputs, the relation turned around
    _log(users, version, cur, labels_from=flipped)
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert run.dataset_drift is False
    perf = _by(run, ResultKind.PERFORMANCE)
    assert perf["accuracy"].flagged and perf["accuracy"].score < perf["accuracy"].details["lower"]
    concept = _by(run, ResultKind.CONCEPT)
    ph = concept["page_hinkley"]
    assert ph.flagged and 1500 <= ph.details["first_detection"] < 1700  # not before the change
    assert concept["performance_without_input_drift"].flagged
    kinds = set(run.monitor.alerts.values_list("kind", "subject"))
    assert {(ResultKind.CONCEPT, "page_hinkley"), (ResultKind.PERFORMANCE, "accuracy")} <= kinds


def test_a_stored_profile_reference_uses_the_monitors_reference_metrics(users, version, reference_asset):
    profile = services.reference_profile_create(
        actor=users["steward"], model_version=version, name="p", asset=reference_asset, columns=FEATURES
    )
    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="p",
        reference_profile=profile,
        columns=FEATURES,
        reference_metrics={"accuracy": 0.99},
    )
    _log(users, version, make_frame(500, seed=14, label=True))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    perf = _by(run, ResultKind.PERFORMANCE)
    assert set(perf) == {"accuracy"} and perf["accuracy"].threshold == 0.99
    assert perf["accuracy"].details["reference_from"] == "monitor's reference_metrics"
    assert not run.results.filter(kind=ResultKind.ESTIMATED).exists()  # CBPE needs the reference's labels
    assert np.isfinite(perf["accuracy"].score)
