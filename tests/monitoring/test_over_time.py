"""Chunks, alert bands and multivariate drift (NannyML-style)."""

import numpy as np
import pandas as pd
import pytest

from monitoring.stats.chunks import band_from, column_over_time, make_chunks, size_mismatch
from monitoring.stats.kinds import ColumnKind
from monitoring.stats.multivariate import domain_classifier, pca_reconstruction


def test_it_cuts_ten_chunks_by_default_and_warns_below_six():
    frame = pd.DataFrame({"x": range(1003)})
    ch = make_chunks(frame)
    assert len(ch.chunks) == 10 and sum(c.rows for c in ch.chunks) == 1003 and not ch.warnings
    few = make_chunks(frame, number=5)
    assert len(few.chunks) == 5 and "fewer than 6" in few.warnings[0]


def test_it_merges_a_short_last_chunk_by_size():
    ch = make_chunks(pd.DataFrame({"x": range(250)}), size=100)
    assert [(c.start, c.stop) for c in ch.chunks] == [(0, 100), (100, 250)]


def test_it_chunks_by_period_on_a_timestamp():
    ts = pd.date_range("2026-01-01", periods=24 * 8, freq="h")
    ch = make_chunks(pd.DataFrame({"t": ts, "x": 1}), period="D", timestamp="t")
    assert len(ch.chunks) == 8 and all(c.rows == 24 for c in ch.chunks)
    assert ch.chunks[0].key == "2026-01-01"


def test_its_band_is_mean_plus_minus_three_std_clipped_at_zero():
    b = band_from([0.1, 0.2, 0.3])
    std = np.std([0.1, 0.2, 0.3])
    assert b.upper == pytest.approx(0.2 + 3 * std) and b.lower == 0.0


def test_it_warns_when_reference_and_current_chunks_differ_in_size():
    ref, cur = make_chunks(pd.DataFrame({"x": range(20_000)})), make_chunks(pd.DataFrame({"x": range(10_000)}))
    assert "another size" in size_mismatch(ref, cur)
    assert size_mismatch(ref, make_chunks(pd.DataFrame({"x": range(19_000)}))) is None


def test_it_raises_an_alert_on_the_chunks_after_a_shift():
    rng = np.random.default_rng(0)
    ref = pd.Series(rng.normal(0, 1, 20_000), name="x")
    cur = pd.Series(np.concatenate([rng.normal(0, 1, 10_000), rng.normal(0.5, 1, 10_000)]), name="x")
    res = column_over_time(
        "x",
        ColumnKind.NUMERICAL,
        ref,
        cur,
        reference_chunks=make_chunks(ref.to_frame()),
        current_chunks=make_chunks(cur.to_frame()),
    )
    assert res.method == "wasserstein"
    assert not res.warnings  # ten chunks of 2,000 rows on both sides
    assert [c.alert for c in res.current] == [False] * 5 + [True] * 5
    assert not any(c.alert for c in res.reference)


def test_it_sees_a_correlation_change_by_pca_reconstruction_but_not_by_marginals():
    rng = np.random.default_rng(1)
    a = rng.normal(size=20_000)
    ref = pd.DataFrame({"a": a, "b": a + rng.normal(0, 0.3, a.size), "c": rng.choice(["x", "y"], a.size)})
    a2 = rng.normal(size=10_000)
    b2 = np.concatenate(
        [a2[:5000] + rng.normal(0, 0.3, 5000), -a2[5000:] + rng.normal(0, 0.3, 5000)]
    )  # same marginals, broken correlation
    cur = pd.DataFrame({"a": a2, "b": b2, "c": rng.choice(["x", "y"], a2.size)})
    res = pca_reconstruction(
        ref, cur, numeric=["a", "b"], categorical=[], reference_chunks=make_chunks(ref), current_chunks=make_chunks(cur)
    )
    assert res.alerts == [False] * 5 + [True] * 5


def test_its_pca_band_fits_each_chunks_size_and_stays_quiet_on_stable_data():
    # the band is for a chunk of the current chunk's own size: 20 seeds x 10 stable chunks of 1,000 rows
    # against 2,000-row reference chunks; a 3-sigma band should alert on ~0.27 % of them (0.5 expected)
    alerts = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        a, a2 = rng.normal(size=20_000), rng.normal(size=10_000)
        ref = pd.DataFrame({"a": a, "b": a + rng.normal(0, 0.3, a.size)})
        cur = pd.DataFrame({"a": a2, "b": a2 + rng.normal(0, 0.3, a2.size)})
        res = pca_reconstruction(
            ref, cur, numeric=["a", "b"], categorical=[], reference_chunks=make_chunks(ref), current_chunks=make_chunks(cur)
        )
        alerts += sum(res.alerts)
        small, big = res.bands[0], res.band
        assert small.upper - small.lower > big.upper - big.lower  # 1,000-row chunks get the wider band
    assert alerts <= 2


def test_it_flags_a_chunk_a_domain_classifier_can_tell_apart():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000), "c": rng.choice(["x", "y"], 3000)})
    cur = pd.DataFrame(
        {
            "a": np.concatenate([rng.normal(size=600), rng.normal(1.0, size=600)]),
            "b": rng.normal(size=1200),
            "c": rng.choice(["x", "y"], 1200),
        }
    )
    res = domain_classifier(ref, cur, numeric=["a", "b"], categorical=["c"], current_chunks=make_chunks(cur, number=2))
    assert res.alerts == [False, True]
    assert 0.45 <= res.current[0] <= 0.65 < res.current[1]
