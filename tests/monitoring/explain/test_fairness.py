"""Fairness metrics against fairlearn 0.15 (test-only dependency): same numbers, exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
from sklearn.metrics import precision_score  # noqa: E402

from monitoring.explain.fairness import FairnessInputError, fairness_from_frame  # noqa: E402

warnings.filterwarnings("ignore")
MF = fairlearn_metrics.MetricFrame
METRICS = {
    "selection_rate": fairlearn_metrics.selection_rate,
    "tpr": fairlearn_metrics.true_positive_rate,
    "fpr": fairlearn_metrics.false_positive_rate,
    "fnr": fairlearn_metrics.false_negative_rate,
    "ppv": lambda y, p: precision_score(y, p, zero_division=0),
}


def _frame(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n, p=[0.45, 0.55])
    race = rng.choice(["a", "b", "c", "d"], size=n, p=[0.6, 0.25, 0.13, 0.02])
    label = rng.random(n) < np.where(sex == "female", 0.35, 0.5)
    pred = rng.random(n) < np.where(label, 0.75, 0.2) * np.where(race == "c", 0.6, 1.0)
    return pd.DataFrame({"sex": sex, "race": race, "approved": pred.astype(int), "repaid": label.astype(int)})


def test_it_matches_fairlearn_per_group_and_overall_metrics_exactly():
    df = _frame()
    report = fairness_from_frame(df, prediction="approved", group=["race"], label="repaid", positive=1)
    mf = MF(metrics=METRICS, y_true=df.repaid, y_pred=df.approved, sensitive_features=df.race)
    by_group = mf.by_group
    for row in report.groups:
        for name in METRICS:
            assert getattr(row, name) == by_group.loc[row.group, name], (row.group, name)
        assert row.n == int((df.race == row.group).sum())
    s = report.summary
    assert s["demographic_parity_difference"] == fairlearn_metrics.demographic_parity_difference(
        df.repaid, df.approved, sensitive_features=df.race
    )
    assert s["demographic_parity_ratio"] == fairlearn_metrics.demographic_parity_ratio(
        df.repaid, df.approved, sensitive_features=df.race
    )
    assert s["equalized_odds_difference"] == fairlearn_metrics.equalized_odds_difference(
        df.repaid, df.approved, sensitive_features=df.race
    )
    assert s["equal_opportunity_difference"] == fairlearn_metrics.equal_opportunity_difference(
        df.repaid, df.approved, sensitive_features=df.race
    )


def test_it_matches_fairlearn_bootstrap_intervals_exactly():
    df = _frame(n=1500, seed=1)
    report = fairness_from_frame(df, prediction="approved", group=["race"], label="repaid", positive=1, n_boot=25, seed=7)
    mf = MF(
        metrics=METRICS,
        y_true=df.repaid,
        y_pred=df.approved,
        sensitive_features=df.race,
        n_boot=25,
        ci_quantiles=[0.025, 0.975],
        random_state=7,
    )
    ci = report.intervals
    lo, hi = mf.by_group_ci
    for group, entry in ci["groups"].items():
        for name in METRICS:
            assert entry[name] == [lo.loc[group, name], hi.loc[group, name]], (group, name)
    dlo, dhi = mf.difference_ci()
    rlo, rhi = mf.ratio_ci()
    assert ci["summary"]["demographic_parity_difference"] == [dlo["selection_rate"], dhi["selection_rate"]]
    assert ci["summary"]["demographic_parity_ratio"] == [rlo["selection_rate"], rhi["selection_rate"]]
    assert ci["summary"]["equal_opportunity_difference"] == [dlo["tpr"], dhi["tpr"]]


def test_it_builds_intersectional_groups_and_flags_small_ones_without_dropping_them():
    df = _frame(n=3000, seed=2)
    report = fairness_from_frame(df, prediction="approved", group=["sex", "race"], label="repaid", min_group_size=40)
    labels = [g.group for g in report.groups]
    assert "sex=female & race=d" in labels and len(labels) == 8
    key = df.sex + "|" + df.race
    mf = MF(metrics=METRICS["selection_rate"], y_true=df.repaid, y_pred=df.approved, sensitive_features=key)
    assert report.summary["demographic_parity_difference"] == mf.difference()
    small = {g.group for g in report.groups if g.small}
    counts = key.value_counts()
    assert small == {f"sex={k.split('|')[0]} & race={k.split('|')[1]}" for k, v in counts.items() if v < 40}
    assert small  # race d is 2% of rows: its intersections are small, and still reported
    assert sum(g.n for g in report.groups) == len(df)


def test_it_reports_aif360_signed_metrics_against_the_reference_group():
    df = _frame(n=2000, seed=3)
    report = fairness_from_frame(df, prediction="approved", group=["sex"], label="repaid", reference="male")
    rows = {g.group: g for g in report.groups}
    (female,) = report.aif360["groups"]
    assert report.aif360["reference"] == "male"
    assert female["statistical_parity_difference"] == rows["female"].selection_rate - rows["male"].selection_rate
    assert female["disparate_impact"] == rows["female"].selection_rate / rows["male"].selection_rate
    assert female["equal_opportunity_difference"] == rows["female"].tpr - rows["male"].tpr
    expected = ((rows["female"].fpr - rows["male"].fpr) + (rows["female"].tpr - rows["male"].tpr)) / 2
    assert female["average_odds_difference"] == expected


def test_it_flags_four_fifths_with_a_significance_test_beside_it():
    rng = np.random.default_rng(4)
    big = pd.DataFrame({"g": ["x"] * 5000 + ["y"] * 5000, "p": np.r_[rng.random(5000) < 0.5, rng.random(5000) < 0.3].astype(int)})
    ff = fairness_from_frame(big, prediction="p", group=["g"]).four_fifths
    assert ff["flag"] is True and ff["lowest"] == "y" and ff["highest"] == "x"
    assert ff["test"].startswith("two-proportion z-test") and ff["significant"] is True
    # Few rows: the ratio still trips the screen, but the exact test says the gap may be chance.
    tiny = pd.DataFrame({"g": ["x"] * 6 + ["y"] * 6, "p": [1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]})
    ff = fairness_from_frame(tiny, prediction="p", group=["g"]).four_fifths
    assert ff["flag"] is True and ff["test"].startswith("Fisher exact") and ff["significant"] is False
    assert ff["small_group_involved"] is True


def test_it_names_undefined_rates_instead_of_passing_zero_off_as_a_measurement():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "p": [1, 0, 0, 0], "y": [1, 0, 0, 0]})
    report = fairness_from_frame(df, prediction="p", group=["g"], label="y")
    b = next(g for g in report.groups if g.group == "b")
    assert b.tpr == 0.0 and set(b.undefined) == {"tpr", "fnr", "ppv"}


def test_it_refuses_non_binary_predictions_and_unknown_columns_without_echoing_values():
    df = pd.DataFrame({"g": ["a", "b", "c"], "p": ["yes", "no", "secret-value"]})
    with pytest.raises(FairnessInputError, match="more than two values") as exc:
        fairness_from_frame(df, prediction="p", group=["g"], positive="yes")
    assert "secret-value" not in str(exc.value)
    with pytest.raises(FairnessInputError, match="not in the data"):
        fairness_from_frame(df.iloc[:2], prediction="p", group=["nope"], positive="yes")
