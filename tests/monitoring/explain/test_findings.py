"""Fairness findings: a failing fairness check of a model version is a finding with its evidence (opened,
refreshed, resolved, reopened like policy findings, audited); on production batches logged through
monitoring, the same check is read from the batches (digests checked, labels joined by id)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    selection_rate,
)

from audit.models import AuditEvent
from compliance.policies.choices import FindingStatus, Severity
from monitoring import services as monitoring_services
from monitoring.explain import findings, services
from monitoring.explain.fairness import fairness_from_frame
from monitoring.explain.models import FairnessFinding
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roots(tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    from monitoring.explain import decisions

    decisions._ROWS.clear()
    return tmp_path


def _decisions(n=1000, rate_a=0.6, rate_b=0.3, seed=0):
    """Decisions of two groups with the given selection rates, and labels."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, "a", "b")
    p = np.where(g == "a", rng.random(n) < rate_a, rng.random(n) < rate_b).astype(int)
    y = np.where(rng.random(n) < 0.8, p, 1 - p)
    return pd.DataFrame({"prediction_id": [f"p-{i}" for i in range(n)], "g": g, "prediction": p, "label": y})


def _fairlearn(frame, label="label"):
    """The oracle: fairlearn's metrics on the same decisions (fairlearn needs y_true even for parity)."""
    y_true = frame[label] if label in frame else frame["prediction"]
    kw = {"sensitive_features": frame["g"]}
    rates = {g: selection_rate(frame.loc[frame.g == g, "prediction"], frame.loc[frame.g == g, "prediction"]) for g in ("a", "b")}
    return {
        "demographic_parity_difference": demographic_parity_difference(y_true, frame["prediction"], **kw),
        "demographic_parity_ratio": demographic_parity_ratio(y_true, frame["prediction"], **kw),
        "equalized_odds_difference": equalized_odds_difference(y_true, frame["prediction"], **kw),
        "selection_rate": rates,
    }


def _file(root, frame, name="decisions.csv"):
    path = root / name
    frame.to_csv(path, index=False)
    return str(path)


def test_a_failed_four_fifths_check_becomes_a_finding_with_its_evidence(users, roots):
    version = ModelVersionFactory()
    frame = _decisions()
    a = services.fairness_assess(
        actor=users["steward"], location=_file(roots, frame), prediction="prediction", group=["g"], model_version=version
    )
    (finding,) = FairnessFinding.objects.all()
    oracle = _fairlearn(frame)
    assert oracle["demographic_parity_ratio"] < 0.8  # fairlearn says the four-fifths screen fails here
    expected = fairness_from_frame(frame, prediction="prediction", group=["g"]).as_dict()["four_fifths"]
    assert expected["flag"] and expected["significant"]
    assert finding.evidence["value"] == oracle["demographic_parity_ratio"]
    assert {g["group"]: g["selection_rate"] for g in finding.evidence["groups"]} == oracle["selection_rate"]
    assert finding.model_version == version and finding.assessment == a and finding.status == FindingStatus.OPEN
    assert finding.check_name == "four_fifths" and finding.attribute == "g" and finding.severity == Severity.HIGH
    ev = finding.evidence
    assert ev["assessment"] == a.pk and ev["dataset_sha256"] == a.dataset_sha256 and ev["n"] == 1000
    assert ev["value"] == expected["ratio"] and ev["limit"] == 0.8 and ev["p_value"] == expected["p_value"]
    assert {g["group"] for g in ev["groups"]} == {"a", "b"} and ev["lowest"] == "b"
    assert "Art. 10" in finding.citation and "below 0.8" in finding.message and "significant" in finding.message
    event = AuditEvent.objects.get(action="explain.fairness_findings")
    assert event.details["opened"] == 1 and event.details["findings"] == [finding.pk]
    assert event.target_id == str(a.pk) and "a" not in event.details.get("groups", [])


def test_a_passing_assessment_resolves_the_finding_and_a_failing_one_reopens_it(users, roots):
    version = ModelVersionFactory()
    kw = {"actor": users["steward"], "prediction": "prediction", "group": ["g"], "model_version": version}
    services.fairness_assess(location=_file(roots, _decisions(), "bad.csv"), **kw)
    assert _fairlearn(_decisions())["demographic_parity_ratio"] < 0.8
    assert _fairlearn(_decisions(rate_a=0.5, rate_b=0.5))["demographic_parity_ratio"] >= 0.8
    assert _fairlearn(_decisions(seed=1))["demographic_parity_ratio"] < 0.8
    fair = services.fairness_assess(location=_file(roots, _decisions(rate_a=0.5, rate_b=0.5), "fair.csv"), **kw)
    finding = FairnessFinding.objects.get()
    assert finding.status == FindingStatus.RESOLVED and finding.resolved_at is not None
    assert finding.evidence["resolved_by_assessment"] == fair.pk
    assert finding.evidence["passed"]["value"] == _fairlearn(_decisions(rate_a=0.5, rate_b=0.5))["demographic_parity_ratio"]
    again = services.fairness_assess(location=_file(roots, _decisions(seed=1), "bad2.csv"), **kw)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN and finding.assessment == again and FairnessFinding.objects.count() == 1
    counts = [e.details for e in AuditEvent.objects.filter(action="explain.fairness_findings").order_by("id")]
    assert [(c["opened"], c["resolved"], c["reopened"]) for c in counts] == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]


def test_a_small_insignificant_gap_is_a_medium_screening_finding(users, roots):
    version = ModelVersionFactory()
    frame = _decisions(n=40, rate_a=0.5, rate_b=0.35, seed=3)
    assert _fairlearn(frame)["demographic_parity_ratio"] < 0.8
    report = fairness_from_frame(frame, prediction="prediction", group=["g"]).as_dict()["four_fifths"]
    assert report["flag"] and not (report["significant"] and not report["small_group_involved"])
    services.fairness_assess(
        actor=users["steward"], location=_file(roots, frame), prediction="prediction", group=["g"], model_version=version
    )
    finding = FairnessFinding.objects.get()
    assert finding.severity == Severity.MEDIUM and "screening flag" in finding.message


def test_difference_limits_are_checks_and_label_metrics_need_labels(users, roots):
    version = ModelVersionFactory()
    frame = _decisions(rate_a=0.55, rate_b=0.5)
    oracle = _fairlearn(frame)
    # the four-fifths screen passes, both differences exceed their limits (fairlearn's numbers)
    assert oracle["demographic_parity_ratio"] >= 0.8
    assert oracle["demographic_parity_difference"] > 0.05 and oracle["equalized_odds_difference"] > 0.01
    kw = {"actor": users["steward"], "location": _file(roots, frame), "prediction": "prediction", "group": ["g"]}
    limits = {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.01}
    services.fairness_assess(model_version=version, limits=limits, **kw)
    (dpd,) = FairnessFinding.objects.all()
    assert dpd.check_name == "demographic_parity_difference" and dpd.severity == Severity.MEDIUM
    assert dpd.evidence["value"] == oracle["demographic_parity_difference"] and dpd.evidence["limit"] == 0.05
    services.fairness_assess(model_version=version, limits=limits, label="label", **kw)
    assert set(FairnessFinding.objects.values_list("check_name", flat=True)) == {
        "demographic_parity_difference",
        "equalized_odds_difference",
    }
    eod = FairnessFinding.objects.get(check_name="equalized_odds_difference")
    assert eod.evidence["value"] == oracle["equalized_odds_difference"]
    # a looser limit passes and resolves the finding; a check not given a limit leaves its finding alone
    services.fairness_assess(model_version=version, limits={"demographic_parity_difference": 0.5}, label="label", **kw)
    dpd.refresh_from_db()
    eod.refresh_from_db()
    assert dpd.status == FindingStatus.RESOLVED and eod.status == FindingStatus.OPEN
    with pytest.raises(ValidationError, match="unknown metric"):
        services.fairness_assess(model_version=version, limits={"accuracy": 0.1}, **kw)


def test_an_assessment_of_no_model_version_opens_no_finding(users, roots):
    services.fairness_assess(actor=users["steward"], location=_file(roots, _decisions()), prediction="prediction", group=["g"])
    assert not FairnessFinding.objects.exists()
    assert not AuditEvent.objects.filter(action="explain.fairness_findings").exists()


def _log(users, version, frame, **kw):
    return monitoring_services.batch_log(actor=users["steward"], model_version=version, rows=frame, **kw)


def test_production_batches_are_assessed_with_labels_joined_by_id(users):
    version = ModelVersionFactory()
    frame = _decisions(n=1200)
    first = _log(users, version, frame.iloc[:700][["prediction_id", "g", "prediction"]])
    second = _log(users, version, frame.iloc[700:][["prediction_id", "g", "prediction"]])
    _log(users, version, frame.iloc[100:][["prediction_id", "label"]], kind="labels")
    a = services.fairness_check_production(
        actor=users["service"], model_version=version, group=["g"], label="label", limits={"equalized_odds_difference": 0.01}
    )
    joined = frame.iloc[100:]
    oracle = _fairlearn(joined)
    assert a.n == 1100 and a.report["equalized_odds_difference"] == oracle["equalized_odds_difference"]
    assert a.report["four_fifths"]["ratio"] == oracle["demographic_parity_ratio"] < 0.8
    assert a.location_label == f"production batches {first.pk},{second.pk}"
    assert set(FairnessFinding.objects.values_list("check_name", flat=True)) == {"four_fifths", "equalized_odds_difference"}
    event = AuditEvent.objects.get(action="explain.fairness_assess")
    assert event.details["production_batches"] == [first.pk, second.pk]


def test_a_production_batch_changed_since_logging_is_refused(users):
    version = ModelVersionFactory()
    batch = _log(users, version, _decisions()[["prediction_id", "g", "prediction"]])
    with open(batch.location, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ValidationError, match="SHA-256"):
        services.fairness_check_production(actor=users["steward"], model_version=version, group=["g"])
    assert not FairnessFinding.objects.exists()


def test_production_checks_need_a_visible_version_and_logged_columns(users):
    from tests.factories import AssetFactory

    version = ModelVersionFactory()
    version.training_datasets.add(AssetFactory(sensitivity="restricted"))
    _log(users, version, _decisions()[["prediction_id", "g", "prediction"]])
    with pytest.raises(ValidationError, match="no such model version"):
        services.fairness_check_production(actor=users["service"], model_version=version, group=["g"])
    with pytest.raises(ValidationError, match="no column"):
        services.fairness_check_production(actor=users["steward"], model_version=version, group=["sex"])


def test_report_checks_name_no_group_value_in_the_alert_subject():
    frame = _decisions()
    report = fairness_from_frame(frame, prediction="prediction", group=["g"]).as_dict()
    (check,) = findings.report_checks(report, attribute="g")
    assert check.subject == "four_fifths [g]" and check.failed


def test_the_default_positive_value_reads_a_text_column_and_a_missing_one_is_refused(users, roots):
    """A CSV read as text: the default positive value 1 is the text "1" (it used to match nothing, so
    every selection rate was silently 0); a column whose two values are neither is refused."""
    frame = _decisions()
    report = fairness_from_frame(frame.astype({"prediction": str}), prediction="prediction", group=["g"]).as_dict()
    assert report["demographic_parity_ratio"] == _fairlearn(frame)["demographic_parity_ratio"]
    words = frame.assign(prediction=np.where(frame.prediction == 1, "yes", "no"))
    with pytest.raises(ValidationError, match="positive value is neither"):
        services.fairness_assess(
            actor=users["steward"],
            location=_file(roots, words),
            prediction="prediction",
            group=["g"],
            model_version=ModelVersionFactory(),
        )
    a = services.fairness_assess(
        actor=users["steward"], location=_file(roots, words, "w.csv"), prediction="prediction", group=["g"], positive="yes"
    )
    assert a.report["demographic_parity_ratio"] == _fairlearn(frame)["demographic_parity_ratio"]


def test_the_api_takes_limits_and_refuses_a_version_the_caller_cannot_see(api_as, roots):
    from tests.factories import AssetFactory

    frame = _decisions(rate_a=0.55, rate_b=0.5)
    version = ModelVersionFactory()
    payload = {
        "location": _file(roots, frame),
        "prediction": "prediction",
        "group": ["g"],
        "label": "label",
        "model_version": version.pk,
        "limits": {"equalized_odds_difference": 0.01},
    }
    r = api_as("steward").post("/api/v1/explain/fairness", payload, format="json")
    assert r.status_code == 201, r.content
    (finding,) = FairnessFinding.objects.all()
    assert finding.check_name == "equalized_odds_difference"
    assert finding.evidence["value"] == _fairlearn(frame)["equalized_odds_difference"]
    bad = api_as("steward").post("/api/v1/explain/fairness", {**payload, "limits": {"accuracy": 0.1}}, format="json")
    assert bad.status_code == 400 and "unknown metric" in bad.content.decode()
    hidden = ModelVersionFactory()
    hidden.training_datasets.add(AssetFactory(sensitivity="restricted"))
    r = api_as("service").post("/api/v1/explain/fairness", {**payload, "model_version": hidden.pk}, format="json")
    assert r.status_code == 400 and "no such model version" in r.content.decode()
    assert FairnessFinding.objects.filter(model_version=hidden).count() == 0
