"""Reference profiles: merged chunk by chunk, stored as JSON, they give Evidently's results where the
distribution is kept exactly and close approximations where only the sketch is kept."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitoring.stats.drift import drift_frames
from monitoring.stats.profile import EXACT_DISTINCT_CAP, DatasetProfile, NumericProfile, drift_against_profile
from monitoring.stats.sketch import Sketch

GOLDEN_DIR = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN_DIR))
import datasets  # noqa: E402

GOLDEN = json.loads((GOLDEN_DIR / "evidently-0.7.23.json").read_text())


def _stored(profile: DatasetProfile) -> DatasetProfile:
    return DatasetProfile.from_json(json.loads(json.dumps(profile.to_json())))


@pytest.mark.parametrize("case", ["small", "large"])
def test_it_gives_evidentlys_results_from_a_stored_profile_of_merged_chunks(case):
    ref, cur, kinds = datasets.case(case)
    chunks = (ref.iloc[idx] for idx in np.array_split(np.arange(len(ref)), 4))
    profile = _stored(DatasetProfile.from_chunks(chunks, kinds=kinds))
    report = drift_against_profile(profile, cur)
    golden = GOLDEN["cases"][case]["default"]
    for c in report.columns:
        exp = golden["columns"][c.name]
        assert (c.method, c.drifted) == (exp["method"], exp["drifted"]), c.name
        if c.approximate:  # a sketched continuous column: Wasserstein within 1e-3 of the threshold's scale
            assert abs(c.score - exp["score"]) < 1e-3, (c.name, c.score, exp["score"])
        else:
            assert c.score == pytest.approx(exp["score"], rel=1e-9, abs=1e-12), c.name
    assert report.dataset_drift == golden["dataset_drift"]
    # only continuous columns above the exact cap are approximate, and they say so
    assert {c.name for c in report.columns if c.approximate} == {
        c for c in kinds if kinds[c] == "num" and ref[c].nunique() > EXACT_DISTINCT_CAP
    }


def test_it_merges_moments_exactly():
    rng = np.random.default_rng(5)
    a = rng.normal(3, 2, 100_000)
    parts = [NumericProfile.from_series(pd.Series(x)) for x in np.array_split(a, 7)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.n == a.size and merged.mean == pytest.approx(a.mean(), rel=1e-13)
    assert merged.std == pytest.approx(np.std(a), rel=1e-12)
    assert (merged.minimum, merged.maximum) == (a.min(), a.max())


def test_it_keeps_exact_counts_below_the_cap_and_drops_them_above():
    low = NumericProfile.from_series(pd.Series(np.arange(100) % 7))
    assert low.values.tolist() == list(range(7)) and low.counts.sum() == 100
    high = low.merge(NumericProfile.from_series(pd.Series(np.arange(EXACT_DISTINCT_CAP + 1, dtype=float))))
    assert high.values is None and high.n == 100 + EXACT_DISTINCT_CAP + 1


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.2])
def test_its_sketch_wasserstein_is_within_a_thousandth_of_a_std_on_a_million_rows(shift):
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(0, 1, 1_000_000), rng.normal(shift, 1, 200_000)
    sk = Sketch.from_sorted(np.sort(ref[:500_000])).merge(Sketch.from_sorted(np.sort(ref[500_000:])))
    assert sk.means.size < 2000
    exact = stats.wasserstein_distance(ref, cur)
    approx = stats.wasserstein_distance(sk.means, cur, u_weights=sk.weights)
    assert abs(approx - exact) < 1e-3


def test_it_checks_a_window_profile_against_the_reference_profile():
    ref, cur, kinds = datasets.case("large")
    ref_p = DatasetProfile.from_frame(ref, kinds=kinds)
    window = DatasetProfile.from_frame(cur.iloc[:1500], kinds=kinds).merge(
        DatasetProfile.from_frame(cur.iloc[1500:], kinds=kinds)
    )
    from_profiles = drift_against_profile(ref_p, window)
    from_frames = drift_frames(ref, cur, kinds=kinds)
    exact = {c.name: c for c in from_frames.columns}
    for c in from_profiles.columns:
        assert c.drifted == exact[c.name].drifted and c.method == exact[c.name].method, c.name
        if not c.approximate:
            assert c.score == pytest.approx(exact[c.name].score, rel=1e-9, abs=1e-12), c.name


def test_it_keeps_category_types_through_json():
    p = _stored(DatasetProfile.from_frame(pd.DataFrame({"c": [1, 2, 2, 3] * 3}), kinds={"c": "cat"}))
    assert p.columns["c"].counts == {1: 3, 2: 6, 3: 3}


def test_it_refuses_to_merge_profiles_of_different_columns():
    a = DatasetProfile.from_frame(pd.DataFrame({"x": [1.0, 2.0]}))
    b = DatasetProfile.from_frame(pd.DataFrame({"y": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="different columns"):
        a.merge(b)
