"""Every drift statistic and decision against Evidently 0.7.23's own results on the same seeded data.

The golden file is Evidently's output (tests/monitoring/golden/regenerate.py runs it in its own venv);
scores must agree to 1e-9 (relative, or absolute for values near 0), decisions and method names exactly.
"""

import json
import math
import sys
from pathlib import Path

import pytest

from monitoring.stats.drift import DriftOptions, drift_frames
from monitoring.stats.kinds import infer_kind

GOLDEN_DIR = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN_DIR))
import datasets  # noqa: E402

GOLDEN = json.loads((GOLDEN_DIR / "evidently-0.7.23.json").read_text())
CASES = [name for name, *_ in datasets.CASES]


def _close(ours, theirs):
    if theirs is None:
        return ours is None or math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)


def _check(report, expected):
    got = {c.name: c for c in report.columns}
    assert set(got) == set(expected["columns"])
    for name, exp in expected["columns"].items():
        c = got[name]
        assert c.skipped is None, (name, c.skipped)
        assert c.method == exp["method"], name
        assert c.threshold == exp["threshold"], name
        assert _close(c.score, exp["score"]), (name, c.method, c.score, exp["score"])
        assert c.drifted == exp["drifted"], (name, c.method, c.score)
    assert report.number_of_columns == expected["number_of_columns"]
    assert report.number_of_drifted_columns == expected["number_of_drifted_columns"]
    assert report.share_drifted == pytest.approx(expected["share_of_drifted_columns"], abs=1e-15)
    assert report.dataset_drift == expected["dataset_drift"]


@pytest.fixture(scope="module", params=CASES)
def case(request):
    ref, cur, kinds = datasets.case(request.param)
    golden = GOLDEN["cases"][request.param]
    assert datasets.fingerprint(ref) == golden["fingerprint"]["reference"], "the generated data is not the golden file's data"
    assert datasets.fingerprint(cur) == golden["fingerprint"]["current"]
    return ref, cur, kinds, golden


def test_it_is_compared_with_evidently_0_7_23():
    assert GOLDEN["evidently"] == "0.7.23"
    assert GOLDEN["pandas"].startswith("2.")


def test_it_infers_column_kinds_as_evidently(case):
    ref, _, _, golden = case
    assert {c: infer_kind(ref[c]).value for c in ref.columns} == golden["inferred_kinds"]


def test_it_selects_methods_scores_and_decides_as_evidently_by_default(case):
    ref, cur, kinds, golden = case
    _check(drift_frames(ref, cur, kinds=kinds), golden["default"])


@pytest.mark.parametrize("method", ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "TVD"])
def test_it_matches_evidently_for_every_method(case, method):
    ref, cur, kinds, golden = case
    expected = golden["methods"][method]
    cols = list(expected["columns"])
    report = drift_frames(
        ref, cur, columns=cols, kinds=kinds, options=DriftOptions(per_column_method=dict.fromkeys(cols, method))
    )
    _check(report, expected)


def test_it_resolves_thresholds_as_evidently(case):
    ref, cur, kinds, golden = case
    options = DriftOptions(threshold=0.2, num_threshold=0.01, per_column_threshold={"num_shift": 0.5, "cat_color": 0.001})
    _check(drift_frames(ref, cur, kinds=kinds, options=options), golden["options"]["thresholds"])


def test_it_resolves_methods_as_evidently(case):
    ref, cur, kinds, golden = case
    options = DriftOptions(method="psi", cat_method="hellinger", per_column_method={"num_same": "ks"})
    _check(drift_frames(ref, cur, kinds=kinds, options=options), golden["options"]["methods"])


@pytest.mark.parametrize("share", [0.2, 0.6])
def test_it_decides_dataset_drift_by_share_as_evidently(case, share):
    ref, cur, kinds, golden = case
    expected = golden["options"][f"drift_share_{share}"]
    report = drift_frames(ref, cur, kinds=kinds, options=DriftOptions(drift_share=share))
    assert report.number_of_drifted_columns == expected["number_of_drifted_columns"]
    assert report.share_drifted == pytest.approx(expected["share_of_drifted_columns"], abs=1e-15)
    assert report.dataset_drift == expected["dataset_drift"]
    new_api = golden["options"]["new_api_drift_share_0.5"]
    assert report.number_of_drifted_columns == new_api["count"]
