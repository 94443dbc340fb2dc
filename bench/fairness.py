"""Fairness metrics with bootstrap confidence intervals: Custos against fairlearn's MetricFrame on the
same data, in the same run.

    .venv/bin/python bench/fairness.py [--rows 1000000] [--boot 10] [--seed 0]

Data: ``--rows`` binary decisions and labels with three protected attributes (sex: 2 groups, age
band: 5, ethnicity: 6 with one small group), generated with a seed and a built-in disparity.

* **Custos**: ``monitoring.explain.fairness.fairness_from_frame`` once per attribute, with
  ``n_boot=--boot`` (per-group selection rate, TPR, FPR, FNR, PPV; DPD/DPR, equal opportunity and
  equalized odds differences; AIF360 block; four-fifths with its test; bootstrap intervals).
* **Baseline**: ``fairlearn.metrics.MetricFrame`` once per attribute with the same five metrics and
  ``n_boot=--boot, ci_quantiles=[0.025, 0.975], random_state=--seed``, plus its ``difference()``,
  ``ratio()``, ``difference_ci()`` and ``ratio_ci()``.

Both see the same rows and the same resamples (fairlearn's seeding is reproduced, see
fairness.py); the script checks that every point estimate and every interval bound is *equal*
(not close) and prints the speed-up. Target (issue 16): at least 5x faster, same numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CUSTOS_ENV", "development")


def make_data(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=rows, p=[0.48, 0.52])
    age = rng.choice(["18-25", "26-35", "36-50", "51-65", "65+"], size=rows, p=[0.15, 0.25, 0.3, 0.2, 0.1])
    eth = rng.choice(["a", "b", "c", "d", "e", "f"], size=rows, p=[0.55, 0.2, 0.12, 0.08, 0.049, 0.001])
    label = rng.random(rows) < np.where(sex == "female", 0.42, 0.5)
    p_approve = np.where(label, 0.8, 0.15) * np.where(eth == "d", 0.7, 1.0) * np.where(age == "65+", 0.85, 1.0)
    pred = rng.random(rows) < p_approve
    return pd.DataFrame(
        {"sex": sex, "age_band": age, "ethnicity": eth, "approved": pred.astype(int), "repaid": label.astype(int)}
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import django

    django.setup()
    from fairlearn import metrics as flm
    from sklearn.metrics import precision_score

    from monitoring.explain.fairness import fairness_from_frame

    df = make_data(args.rows, args.seed)
    attributes = ["sex", "age_band", "ethnicity"]
    print(f"data: {args.rows:,} decisions x {len(attributes)} protected attributes, {args.boot} bootstrap resamples each")

    t0 = time.perf_counter()
    ours = {
        a: fairness_from_frame(df, prediction="approved", group=[a], label="repaid", positive=1, n_boot=args.boot, seed=args.seed)
        for a in attributes
    }
    t_ours = time.perf_counter() - t0
    print(f"Custos fairness_from_frame:  {t_ours:8.2f} s")

    metrics = {
        "selection_rate": flm.selection_rate,
        "tpr": flm.true_positive_rate,
        "fpr": flm.false_positive_rate,
        "fnr": flm.false_negative_rate,
        "ppv": lambda y, p: precision_score(y, p, zero_division=0),
    }
    t0 = time.perf_counter()
    frames = {}
    for a in attributes:
        mf = flm.MetricFrame(
            metrics=metrics,
            y_true=df.repaid,
            y_pred=df.approved,
            sensitive_features=df[a],
            n_boot=args.boot,
            ci_quantiles=[0.025, 0.975],
            random_state=args.seed,
        )
        frames[a] = (mf, mf.difference(), mf.ratio(), mf.difference_ci(), mf.ratio_ci())
    t_base = time.perf_counter() - t0
    print(f"fairlearn MetricFrame:       {t_base:8.2f} s   (baseline, same data, same resamples)")

    mismatches, compared = 0, 0
    for a in attributes:
        report, (mf, diff, ratio, diff_ci, ratio_ci) = ours[a], frames[a]
        lo, hi = mf.by_group_ci
        for g in report.groups:
            for name in metrics:
                compared += 3
                mismatches += getattr(g, name) != mf.by_group.loc[g.group, name]
                ci = report.intervals["groups"][g.group][name]
                mismatches += (ci[0] != lo.loc[g.group, name]) + (ci[1] != hi.loc[g.group, name])
        s, ci = report.summary, report.intervals["summary"]
        pairs = [
            (s["demographic_parity_difference"], diff["selection_rate"]),
            (s["demographic_parity_ratio"], ratio["selection_rate"]),
            (s["equal_opportunity_difference"], diff["tpr"]),
            (s["equalized_odds_difference"], max(diff["tpr"], diff["fpr"])),
            (ci["demographic_parity_difference"][0], diff_ci[0]["selection_rate"]),
            (ci["demographic_parity_difference"][1], diff_ci[1]["selection_rate"]),
            (ci["demographic_parity_ratio"][0], ratio_ci[0]["selection_rate"]),
            (ci["demographic_parity_ratio"][1], ratio_ci[1]["selection_rate"]),
        ]
        compared += len(pairs)
        mismatches += sum(x != y for x, y in pairs)
    print(f"numbers compared: {compared}; not exactly equal: {mismatches}")
    speedup = t_base / t_ours
    print(f"speed-up: {speedup:.1f}x (target >= 5x) -> {'met' if speedup >= 5 and mismatches == 0 else 'NOT met'}")
    ff = ours["ethnicity"].four_fifths
    print(f"example: ethnicity four-fifths ratio {ff['ratio']:.3f} flag={ff['flag']} ({ff['test']}, p={ff['p_value']:.2g})")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
