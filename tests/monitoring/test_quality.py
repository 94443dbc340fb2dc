"""Data-quality checks against hand-counted expectations, from a frame and from a stored profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from monitoring.stats.kinds import ColumnKind
from monitoring.stats.profile import DatasetProfile
from monitoring.stats.quality import QualityConfig, ReferenceSummary, run_checks

KINDS = {"age": ColumnKind.NUMERICAL, "city": ColumnKind.CATEGORICAL}
REF = pd.DataFrame({"age": [20.0, 30.0, 40.0, np.nan, 50.0] * 20, "city": ["a", "b", "a", "c", None] * 20})
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _by_name(results):
    return {r.name: r for r in results}


def _run(current, config=None, **kw):
    kw.setdefault("newest_arrival", NOW - timedelta(minutes=5))
    return _by_name(
        run_checks(
            ReferenceSummary.from_frame(REF, KINDS),
            current,
            features=["age", "city"],
            config=QualityConfig.from_json(config),
            now=NOW,
            **kw,
        )
    )


def test_it_passes_data_like_its_reference():
    r = _run(REF.copy(), id_column=None)
    assert not [x.name for x in r.values() if x.failed]
    assert r["null_share:age"].score == pytest.approx(0.2) and r["null_share:age"].threshold == pytest.approx(0.25)
    assert r["out_of_range:age"].score == 0 and r["new_categories:city"].score == 0


def test_it_counts_nulls_out_of_range_and_new_categories_by_hand():
    cur = pd.DataFrame(
        {"age": [10.0, 30.0, 60.0, np.nan, np.nan, 45.0, 20.0, 50.0], "city": ["a", "z", "z", "y", None, "b", "a", "c"]}
    )
    r = _run(cur)
    # 2 of 8 missing = 0.25, reference 0.2 + 0.05 tolerance = 0.25: not above, passes
    assert r["null_share:age"].score == 0.25 and not r["null_share:age"].failed
    # 10 and 60 outside [20, 50]: 2 of 6 values
    assert r["out_of_range:age"].score == pytest.approx(2 / 6) and r["out_of_range:age"].failed
    assert r["out_of_range:age"].details["outside"] == 2
    # z, z, y unseen: 3 of 7 non-missing values, 2 new categories
    nc = r["new_categories:city"]
    assert nc.score == pytest.approx(3 / 7) and nc.failed and nc.details["new_categories"] == 2
    assert "z" not in str(nc.details) and "y" not in nc.rule  # names and counts, never values


def test_it_reports_schema_changes_and_per_column_thresholds():
    cur = pd.DataFrame({"age": ["x", "y"], "extra": [1, 2], "prediction": [0, 1]})
    r = _run(cur, {"null_share": {"per_column": {"age": 0.0}}}, ignore_added=["prediction"])
    schema = r["schema"]
    assert schema.failed and schema.score == 3
    assert schema.details == {"removed": ["city"], "added": ["extra"], "type_changed": ["age"]}
    assert r["null_share:age"].threshold == 0.0 and r["null_share:age"].rule == "null share > per-column maximum"


def test_it_checks_uniqueness_row_count_and_freshness():
    cur = pd.DataFrame({"age": [30.0] * 4, "city": ["a"] * 4, "prediction_id": ["p1", "p2", "p2", "p3"]})
    r = _run(cur, {"row_count": {"min": 5}, "freshness": {"max_age_minutes": 60}}, id_column="prediction_id")
    assert r["uniqueness:prediction_id"].score == 0.75 and r["uniqueness:prediction_id"].failed
    assert r["uniqueness:prediction_id"].details["duplicates"] == 1
    assert r["row_count"].score == 4 and r["row_count"].failed
    assert r["freshness"].score == pytest.approx(5.0) and not r["freshness"].failed
    stale = _run(cur, {"freshness": {"max_age_minutes": 60}}, newest_arrival=NOW - timedelta(hours=3))
    assert stale["freshness"].score == pytest.approx(180.0) and stale["freshness"].failed
    ts = cur.assign(t=[NOW - timedelta(minutes=m) for m in (90, 80, 70, 65)])
    by_ts = _run(ts, {"freshness": {"max_age_minutes": 60, "timestamp_column": "t"}})
    assert by_ts["freshness"].score == pytest.approx(65.0) and by_ts["freshness"].failed


def test_a_stored_profile_gives_the_same_checks_as_the_frame():
    profile = DatasetProfile.from_json(DatasetProfile.from_frame(REF, kinds=KINDS).to_json())
    cur = pd.DataFrame({"age": [10.0, 30.0, np.nan], "city": ["a", "q", None]})
    cfg = QualityConfig.from_json({"schema": False})
    a = _by_name(run_checks(ReferenceSummary.from_frame(REF, KINDS), cur, features=["age", "city"], config=cfg, now=NOW))
    b = _by_name(run_checks(ReferenceSummary.from_profile(profile), cur, features=["age", "city"], config=cfg, now=NOW))
    assert {k: (v.score, v.threshold, v.failed) for k, v in a.items()} == {
        k: (v.score, v.threshold, v.failed) for k, v in b.items()
    }


def test_it_refuses_unknown_checks_and_bad_thresholds():
    with pytest.raises(ValueError, match="unknown quality check"):
        QualityConfig.from_json({"nulls": True})
    with pytest.raises(ValueError, match="non-negative"):
        QualityConfig.from_json({"row_count": {"min": -1}})
    assert QualityConfig.from_json({"freshness": False}).checks["freshness"] is None
