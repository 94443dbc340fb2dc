"""Group fairness of binary decisions, from predictions (and labels) alone: no model needed.

Conventions are fairlearn's (0.15), so the numbers are the ones an auditor gets from
``fairlearn.metrics.MetricFrame`` on the same data (tests/monitoring/explain/test_fairness.py checks
them to the last bit):

* per group: ``n``; ``selection_rate`` = share predicted positive; ``tpr`` = TP/(TP+FN), ``fpr`` =
  FP/(FP+TN), ``fnr`` = FN/(TP+FN) (scikit-learn's ``confusion_matrix(normalize="true")``: an empty
  row gives 0), ``ppv`` = TP/(TP+FP) (``precision_score``: 0 when nothing is predicted positive). A
  rate whose denominator is empty in that group is named in the group's ``undefined`` list, so a 0
  that means "no cases" is never read as a real 0.
* ``demographic_parity_difference`` = max - min selection rate over groups, ``..._ratio`` = min / max;
  ``equal_opportunity_difference`` = max - min TPR; ``equalized_odds_difference`` = the larger of the
  TPR and FPR differences ("worst_case").
* AIF360's signed convention beside them, each group against a reference ("privileged") group:
  statistical parity difference SR_g - SR_ref, disparate impact SR_g / SR_ref, equal opportunity
  difference TPR_g - TPR_ref, average odds difference ((FPR_g - FPR_ref) + (TPR_g - TPR_ref)) / 2.
* Four-fifths rule (EEOC): lowest / highest selection rate, flagged below 0.8. It is a screening
  flag, not a finding of discrimination, so a significance test of the same two groups stands beside it
  (two-sided two-proportion z-test, or Fisher's exact test when an expected cell count is below 5).
* Bootstrap confidence intervals resample rows exactly as fairlearn's ``MetricFrame(n_boot=...,
  random_state=seed)`` does (a numpy Generator draws one uint32 seed per resample; each resample is
  ``RandomState(seed).choice(n, n)``) and take ``numpy.quantile`` of the same statistics, so the
  intervals are fairlearn's too; the speed comes from counting confusion cells with ``bincount``
  instead of evaluating metric functions group by group.
* Groups smaller than ``min_group_size`` are flagged ``small`` and kept: never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

FOUR_FIFTHS = 0.8
RATES = ("selection_rate", "tpr", "fpr", "fnr", "ppv")


class FairnessInputError(ValueError):
    """Bad input (the message names the column or rule, never a data value)."""


@dataclass
class GroupRates:
    """Per-group counts and rates; rates needing labels are None without them."""

    group: str
    n: int
    selection_rate: float
    tpr: float | None
    fpr: float | None
    fnr: float | None
    ppv: float | None
    small: bool
    undefined: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "n": self.n,
            "selection_rate": self.selection_rate,
            "tpr": self.tpr,
            "fpr": self.fpr,
            "fnr": self.fnr,
            "ppv": self.ppv,
            "small": self.small,
            "undefined": self.undefined,
        }


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _rates(counts: np.ndarray, has_labels: bool) -> dict[str, np.ndarray]:
    """Rates per group from cell counts shaped (..., groups, 4) = [tn, fp, fn, tp] (label-major).

    Without labels the cells are [not selected, selected, 0, 0]."""
    tn, fp, fn, tp = (counts[..., k].astype(np.float64) for k in range(4))
    n = tn + fp + fn + tp
    out = {"n": n, "selection_rate": _safe_div(fp + tp, n)}
    if has_labels:
        out["tpr"] = _safe_div(tp, tp + fn)
        out["fpr"] = _safe_div(fp, fp + tn)
        out["fnr"] = _safe_div(fn, tp + fn)
        out["ppv"] = _safe_div(tp, tp + fp)
    return out


def _spread(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max - min, min / max) over the groups present, along the last axis (NaN where none)."""
    hi = np.where(present, values, -np.inf).max(axis=-1)
    lo = np.where(present, values, np.inf).min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = lo / hi
    return hi - lo, ratio


def _summary(rates: dict[str, np.ndarray], has_labels: bool) -> dict[str, np.ndarray]:
    present = rates["n"] > 0
    dpd, dpr = _spread(rates["selection_rate"], present)
    out = {"demographic_parity_difference": dpd, "demographic_parity_ratio": dpr}
    if has_labels:
        tpr_d, _ = _spread(rates["tpr"], present)
        fpr_d, _ = _spread(rates["fpr"], present)
        out["equal_opportunity_difference"] = tpr_d
        out["equalized_odds_difference"] = np.maximum(tpr_d, fpr_d)
    return out


def _significance(selected_a: int, n_a: int, selected_b: int, n_b: int, alpha: float) -> dict:
    """Two-sided test that two groups' selection rates differ."""
    table = np.array([[selected_a, n_a - selected_a], [selected_b, n_b - selected_b]], dtype=np.float64)
    total = table.sum()
    if n_a == 0 or n_b == 0 or total == 0:
        return {"test": None, "p_value": None, "significant": None}
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / total
    if (expected < 5).any():
        _, p = stats.fisher_exact(table.astype(np.int64))
        name = "Fisher exact (two-sided)"
    else:
        p_a, p_b = selected_a / n_a, selected_b / n_b
        pooled = (selected_a + selected_b) / (n_a + n_b)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        p = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(p_a - p_b) / se))
        name = "two-proportion z-test (two-sided)"
    return {"test": name, "p_value": float(p), "significant": bool(p < alpha)}


def _none_if_nan(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def group_labels(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """(codes, labels) for the groups of one column or, with several, their intersections.

    Labels sort as fairlearn sorts groups; an intersection reads ``"a=x & b=y"``. Missing values form
    their own group ``"(missing)"`` rather than being dropped."""
    if not columns:
        raise FairnessInputError("at least one group column is needed")
    parts = []
    for col in columns:
        if col not in frame.columns:
            raise FairnessInputError(f"group column {col!r} is not in the data")
        parts.append(frame[col].astype("string").fillna("(missing)"))
    if len(parts) == 1:
        key = parts[0]
    else:
        key = parts[0].radd(f"{columns[0]}=")
        for col, part in zip(columns[1:], parts[1:], strict=True):
            key = key + f" & {col}=" + part
    codes, uniques = pd.factorize(key, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _binary(values: pd.Series, positive, what: str) -> np.ndarray:
    if values.isna().any():
        raise FairnessInputError(f"the {what} column has missing values")
    pos = _coerce_like(values, positive)
    out = (values == pos).to_numpy()
    distinct = len(pd.unique(values))
    if distinct > 2:
        raise FairnessInputError(f"the {what} column has more than two values: binary decisions only")
    if distinct == 2 and not out.any():
        # two values and neither is the positive one: every rate would silently be 0
        raise FairnessInputError(
            f"the positive value is neither of the {what} column's two values; give it with positive (--positive)"
        )
    return out


def _coerce_like(values: pd.Series, positive):
    """The positive value in the column's own type (a CLI passes it as text; the default is 1, read
    like a CLI's "1", so it is "1" in a text column such as a CSV file read as text)."""
    if positive is None:
        positive = "1"
    if isinstance(positive, str) and pd.api.types.is_numeric_dtype(values):
        try:
            number = float(positive)
        except ValueError as exc:
            raise FairnessInputError("the positive value is not a number but the column is numeric") from exc
        return int(number) if number.is_integer() else number
    if pd.api.types.is_bool_dtype(values) and isinstance(positive, str):
        return positive.strip().lower() in {"1", "true", "yes"}
    return positive


@dataclass
class FairnessReport:
    """One fairness assessment; ``as_dict()`` is the ``fairness_report --json`` contract."""

    attributes: list[str]
    positive: object
    has_labels: bool
    groups: list[GroupRates]
    summary: dict[str, float | None]
    four_fifths: dict
    aif360: dict
    reference: str
    intervals: dict | None
    n_boot: int
    seed: int
    min_group_size: int

    def as_dict(self) -> dict:
        out = {
            "attributes": self.attributes,
            "positive": self.positive if isinstance(self.positive, int | float | str | bool) else str(self.positive),
            "n": int(sum(g.n for g in self.groups)),
            "groups": [g.as_dict() for g in self.groups],
            "demographic_parity_difference": self.summary["demographic_parity_difference"],
            "demographic_parity_ratio": self.summary["demographic_parity_ratio"],
            "equalized_odds_difference": self.summary.get("equalized_odds_difference"),
            "equal_opportunity_difference": self.summary.get("equal_opportunity_difference"),
            "four_fifths": self.four_fifths,
            "aif360": self.aif360,
            "small_groups": [g.group for g in self.groups if g.small],
            "min_group_size": self.min_group_size,
            "conventions": "fairlearn 0.15 (differences between groups, unsigned); aif360 block signed against the reference group",
        }
        if self.intervals is not None:
            out["confidence_intervals"] = self.intervals
        return out


def fairness_assess(
    *,
    y_pred,
    groups: np.ndarray,
    labels: list[str],
    y_true=None,
    attributes: list[str],
    positive=1,
    reference: str | None = None,
    n_boot: int = 0,
    ci: tuple[float, float] = (0.025, 0.975),
    seed: int = 0,
    min_group_size: int = 30,
    alpha: float = 0.05,
) -> FairnessReport:
    """Assess boolean decisions ``y_pred`` (True = positive) for group codes ``groups`` (0..G-1 naming
    ``labels``); ``y_true`` booleans when labels exist. See the module docstring for every definition."""
    y_pred = np.asarray(y_pred, dtype=bool)
    has_labels = y_true is not None
    n_groups = len(labels)
    if len(y_pred) == 0:
        raise FairnessInputError("no rows to assess")
    cell = groups * 4 + y_pred.astype(np.int64)
    if has_labels:
        cell = cell + 2 * np.asarray(y_true, dtype=bool).astype(np.int64)
    counts = np.bincount(cell, minlength=4 * n_groups).reshape(n_groups, 4)
    rates = _rates(counts, has_labels)
    summary = {k: _none_if_nan(v) for k, v in _summary(rates, has_labels).items()}

    group_rows = []
    for g, label in enumerate(labels):
        tn, fp, fn, tp = (int(c) for c in counts[g])
        undefined = []
        if has_labels:
            undefined += ["tpr", "fnr"] if tp + fn == 0 else []
            undefined += ["fpr"] if fp + tn == 0 else []
            undefined += ["ppv"] if tp + fp == 0 else []
        group_rows.append(
            GroupRates(
                group=label,
                n=int(counts[g].sum()),
                selection_rate=float(rates["selection_rate"][g]),
                tpr=float(rates["tpr"][g]) if has_labels else None,
                fpr=float(rates["fpr"][g]) if has_labels else None,
                fnr=float(rates["fnr"][g]) if has_labels else None,
                ppv=float(rates["ppv"][g]) if has_labels else None,
                small=bool(counts[g].sum() < min_group_size),
                undefined=undefined,
            )
        )

    # Four-fifths: lowest vs highest selection rate (ties: the first group in label order).
    sr = rates["selection_rate"]
    low, high = int(np.argmin(sr)), int(np.argmax(sr))
    selected = counts[:, 1] + counts[:, 3]
    ratio = summary["demographic_parity_ratio"]
    four_fifths = {
        "ratio": ratio,
        "flag": None if ratio is None else bool(ratio < FOUR_FIFTHS),
        "threshold": FOUR_FIFTHS,
        "lowest": labels[low],
        "highest": labels[high],
        "small_group_involved": bool(group_rows[low].small or group_rows[high].small),
        **_significance(int(selected[low]), int(counts[low].sum()), int(selected[high]), int(counts[high].sum()), alpha),
        "alpha": alpha,
        "note": "screening flag (EEOC four-fifths rule), not a finding; read it with the significance test",
    }

    # AIF360's signed metrics against the reference group (default: the largest group).
    if reference is None:
        ref = int(np.argmax(counts.sum(axis=1)))
    elif reference in labels:
        ref = labels.index(reference)
    else:
        raise FairnessInputError("the reference group is not among the groups")
    aif = []
    for g, label in enumerate(labels):
        if g == ref:
            continue
        row = {
            "group": label,
            "statistical_parity_difference": float(sr[g] - sr[ref]),
            "disparate_impact": _none_if_nan(sr[g] / sr[ref]) if sr[ref] > 0 else None,
        }
        if has_labels:
            row["equal_opportunity_difference"] = float(rates["tpr"][g] - rates["tpr"][ref])
            row["average_odds_difference"] = float(
                ((rates["fpr"][g] - rates["fpr"][ref]) + (rates["tpr"][g] - rates["tpr"][ref])) / 2
            )
        aif.append(row)
    aif360 = {"reference": labels[ref], "groups": aif}

    intervals = None
    if n_boot:
        intervals = _bootstrap(cell, n_groups, has_labels, labels, n_boot=n_boot, ci=ci, seed=seed)
    return FairnessReport(
        attributes=attributes,
        positive=positive,
        has_labels=has_labels,
        groups=group_rows,
        summary=summary,
        four_fifths=four_fifths,
        aif360=aif360,
        reference=labels[ref],
        intervals=intervals,
        n_boot=n_boot,
        seed=seed,
        min_group_size=min_group_size,
    )


def bootstrap_indices(n: int, *, n_boot: int, seed: int):
    """The row indices of fairlearn's bootstrap resamples, one array per resample, in order."""
    seeds = np.random.default_rng(seed=int(seed)).integers(low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32)
    for s in seeds:
        yield np.random.RandomState(s).choice(n, size=n, replace=True)


def _bootstrap(cell, n_groups, has_labels, labels, *, n_boot, ci, seed) -> dict:
    n = len(cell)
    samples = np.empty((n_boot, n_groups, 4), dtype=np.int64)
    for b, idx in enumerate(bootstrap_indices(n, n_boot=n_boot, seed=seed)):
        samples[b] = np.bincount(cell[idx], minlength=4 * n_groups).reshape(n_groups, 4)
    rates = _rates(samples, has_labels)
    summary = _summary(rates, has_labels)
    q = list(ci)
    present = rates["n"] > 0  # a group absent from a resample is NaN there, as fairlearn aligns it
    groups = {}
    for g, label in enumerate(labels):
        entry = {}
        for name in RATES:
            if name not in rates:
                continue
            series = np.where(present[:, g], rates[name][:, g], np.nan)
            entry[name] = [_none_if_nan(v) for v in np.nanquantile(series, q)] if present[:, g].any() else [None, None]
        groups[label] = entry
    return {
        "n_boot": n_boot,
        "seed": seed,
        "quantiles": q,
        "method": "fairlearn MetricFrame bootstrap (same resamples), numpy quantiles",
        "summary": {k: [_none_if_nan(v) for v in np.quantile(s, q)] for k, s in summary.items()},
        "groups": groups,
    }


def fairness_from_frame(
    frame: pd.DataFrame,
    *,
    prediction: str,
    group: list[str],
    label: str | None = None,
    positive=None,
    **options,
) -> FairnessReport:
    """A :func:`fairness_assess` over a data frame's columns (what the command and API call)."""
    for col in [prediction, *([label] if label else [])]:
        if col not in frame.columns:
            raise FairnessInputError(f"column {col!r} is not in the data")
    y_pred = _binary(frame[prediction], positive, "prediction")
    y_true = _binary(frame[label], positive, "label") if label else None
    codes, labels = group_labels(frame, group)
    pos = _coerce_like(frame[prediction], positive)
    pos = pos.item() if hasattr(pos, "item") else pos
    return fairness_assess(y_pred=y_pred, y_true=y_true, groups=codes, labels=labels, attributes=group, positive=pos, **options)
