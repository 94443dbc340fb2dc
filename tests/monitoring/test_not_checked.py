"""A switched-on check that cannot be computed is never dropped silently: its result row says "not
checked" and why (score None, not failed), on a window's rows (run_checks), from an open chunk's running
statistics (quality_from_state, the same rows), in the stored result, on the command's JSON, and it
neither opens nor resolves an alert. A drift feature the stored profile keeps no statistics of is a
skipped row too, not a missing one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from monitoring import services
from monitoring.choices import AlertState
from monitoring.models import Alert, MonitorResult
from monitoring.services.alerts import sync_alerts
from monitoring.services.quality import quality_result
from monitoring.stats.kinds import ColumnKind
from monitoring.stats.profile import CATEGORY_CAP, DatasetProfile
from monitoring.stats.quality import QualityConfig, ReferenceSummary, run_checks
from monitoring.stats.stream import MAX_UNIQUE_HASHES, ChunkState, UniqueCount, quality_from_state
from tests.monitoring.conftest import make_frame

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KINDS = {"age": ColumnKind.NUMERICAL, "city": ColumnKind.CATEGORICAL}
REF = pd.DataFrame({"age": [20.0, 30.0, 40.0, np.nan, 50.0] * 20, "city": ["a", "b", "a", "c", None] * 20})


def _both(summary, current, config, kinds=KINDS, **kw):
    """run_checks on the rows and quality_from_state on the same rows folded as one batch, by name."""
    config = QualityConfig.from_json(config)
    features = list(kinds)
    rows = run_checks(summary, current, features=features, config=config, now=NOW, **kw)
    state = ChunkState.empty(features, kinds)
    state.add(current, reference=summary, config=config, id_column=kw.get("id_column"))
    streamed = quality_from_state(summary, ChunkState.from_json(state.to_json()), config=config, now=NOW, **kw)
    a, b = {q.name: q for q in rows}, {q.name: q for q in streamed}
    assert set(a) == set(b)
    for name, q in a.items():
        r = b[name]
        assert (r.score is None) == (q.score is None) and (r.failed, r.rule, r.details) == (q.failed, q.rule, q.details), name
    return a


def _assert_not_checked(q, reason_part: str) -> None:
    assert q.score is None and q.failed is False, q
    assert q.rule.startswith("not checked: ") and reason_part in q.rule, q.rule
    assert reason_part in q.details["not_checked"]


def test_a_column_without_values_in_the_window_says_its_range_and_category_checks_were_not_checked():
    cur = pd.DataFrame({"age": [np.nan] * 10, "city": pd.Series([None] * 10, dtype=object)})
    r = _both(ReferenceSummary.from_frame(REF, KINDS), cur, {}, newest_arrival=NOW)
    assert r["null_share:age"].score == 1.0 and r["null_share:age"].failed  # this one is computed
    _assert_not_checked(r["out_of_range:age"], "no non-missing value in the window")
    _assert_not_checked(r["new_categories:city"], "no non-missing value in the window")
    assert r["out_of_range:age"].threshold == 0.01


def test_a_window_without_rows_says_null_share_was_not_checked():
    cur = REF.iloc[:0].copy()
    r = run_checks(
        ReferenceSummary.from_frame(REF, KINDS), cur, features=list(KINDS), config=QualityConfig.from_json({}), now=NOW
    )
    by = {q.name: q for q in r}
    _assert_not_checked(by["null_share:age"], "the window has no rows")
    assert by["null_share:age"].threshold == pytest.approx(0.25)  # reference 0.2 + tolerance 0.05
    assert by["row_count"].failed  # 0 rows < 1


@pytest.mark.parametrize("source", ["frame", "profile"])
def test_a_reference_column_without_values_says_out_of_range_was_not_checked(source):
    ref = REF.assign(age=np.nan)
    summary = (
        ReferenceSummary.from_frame(ref, KINDS)
        if source == "frame"
        else ReferenceSummary.from_profile(DatasetProfile.from_frame(ref, kinds=KINDS, columns=list(KINDS)))
    )
    assert summary.columns["age"].minimum is None  # NaN (frame) and +/-inf (empty profile) both read as "none"
    cur = pd.DataFrame({"age": [1.0, 1e9], "city": ["a", "b"]})
    r = _both(summary, cur, {}, newest_arrival=NOW)
    _assert_not_checked(r["out_of_range:age"], "the reference has no numeric value")


def test_a_profile_without_its_full_category_list_says_new_categories_was_not_checked():
    n = CATEGORY_CAP + 1
    ref = pd.DataFrame({"city": [f"c{i}" for i in range(n)]})
    kinds = {"city": ColumnKind.CATEGORICAL}
    profile = DatasetProfile.from_frame(ref, kinds=kinds, columns=["city"])
    assert profile.columns["city"].overflow
    summary = ReferenceSummary.from_profile(profile)
    r = _both(summary, pd.DataFrame({"city": ["new", "c1"]}), {}, kinds=kinds, newest_arrival=NOW)
    _assert_not_checked(r["new_categories:city"], "keeps no full category list")


def test_uniqueness_without_a_column_and_freshness_without_a_time_are_not_checked():
    summary = ReferenceSummary.from_frame(REF, KINDS)
    r = _both(summary, REF.copy(), {})  # no id column, no arrival time, no timestamp column
    _assert_not_checked(r["uniqueness"], "no column to check")
    _assert_not_checked(r["freshness"], "no timestamp_column and no batch arrival time")
    r = _both(summary, REF.copy(), {}, id_column="prediction_id", newest_arrival=NOW)
    _assert_not_checked(r["uniqueness:prediction_id"], "the id column is not in the window")
    cur = REF.assign(seen=pd.Series([None] * len(REF), dtype=object))
    r = _both(summary, cur, {"freshness": {"timestamp_column": "seen"}, "schema": False})
    _assert_not_checked(r["freshness"], "seen holds no valid time")
    assert r["freshness"].threshold == 1440


def test_uniqueness_above_the_chunk_hash_cap_says_not_checked_and_the_rows_check_it():
    n = MAX_UNIQUE_HASHES + 2  # MAX_UNIQUE_HASHES + 1 distinct ids and one duplicate
    ids = pd.Series([f"id-{i}" for i in range(n)])
    cur = pd.DataFrame({"age": np.full(n, 30.0), "city": ["a"] * n, "prediction_id": ids})
    cur.loc[n - 1, "prediction_id"] = "id-0"  # one duplicate: the rows' check fails
    summary = ReferenceSummary.from_frame(REF, KINDS)
    config = QualityConfig.from_json({})
    state = ChunkState.empty(list(KINDS), KINDS)
    half = n // 2
    for part in (cur.iloc[:half], cur.iloc[half:]):
        state.add(part, reference=summary, config=config, id_column="prediction_id")
    assert state.unique["prediction_id"].hashes is None
    streamed = {
        q.name: q
        for q in quality_from_state(summary, state, config=config, id_column="prediction_id", newest_arrival=NOW, now=NOW)
    }
    u = streamed["uniqueness:prediction_id"]
    _assert_not_checked(u, f"more than {MAX_UNIQUE_HASHES:,} distinct values")
    assert "closing run" in u.rule and u.threshold == 1.0
    rows = {
        q.name: q
        for q in run_checks(
            summary, cur, features=list(KINDS), config=config, id_column="prediction_id", newest_arrival=NOW, now=NOW
        )
    }
    assert rows["uniqueness:prediction_id"].failed and rows["uniqueness:prediction_id"].details["duplicates"] == 1
    row = quality_result(u)
    assert row.score is None and not row.flagged and row.threshold_source.startswith("not checked: ")
    assert row.details["not_checked"] == u.details["not_checked"]


@pytest.mark.django_db
def test_a_not_checked_result_neither_opens_nor_resolves_an_alert(users, version, reference_asset):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, schedule_minutes=0
    )
    batch = services.batch_log(actor=users["service"], model_version=version, rows=make_frame(200, seed=3))
    run = services.monitor_run(actor=users["service"], monitor=monitor, batches=[batch], fan_out=False)
    failed = MonitorResult.objects.create(
        run=run, kind="quality", name="uniqueness:prediction_id", method="uniqueness", score=0.9, threshold=1.0, flagged=True
    )
    sync_alerts(actor="system", run=run, results=[failed])
    alert = Alert.objects.get(monitor=monitor, subject="uniqueness:prediction_id")
    assert alert.state == AlertState.OPEN
    summary = ReferenceSummary.from_frame(REF, KINDS)
    state = ChunkState.empty(list(KINDS), KINDS)
    state.unique["prediction_id"] = UniqueCount(values=MAX_UNIQUE_HASHES + 5, hashes=None)  # over the cap
    state.rows, state.columns_seen = MAX_UNIQUE_HASHES + 5, ["age", "city", "prediction_id"]
    q = next(
        x
        for x in quality_from_state(summary, state, config=QualityConfig.from_json({}), id_column="prediction_id", now=NOW)
        if x.check == "uniqueness"
    )
    unchecked = quality_result(q)
    unchecked.run = run
    unchecked.save()
    sync_alerts(actor="system", run=run, results=[unchecked])
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and alert.resolved_at is None
    other = MonitorResult.objects.create(
        run=run, kind="quality", name="freshness", method="freshness", score=None, threshold=1440, flagged=False
    )
    sync_alerts(actor="system", run=run, results=[other])
    assert not Alert.objects.filter(monitor=monitor, subject="freshness").exists()


def test_quality_check_command_prints_not_checked_rows(roots, capsys):
    REF.to_csv(roots / "ref.csv", index=False)
    REF.assign(age=np.nan).to_csv(roots / "cur.csv", index=False)
    call_command("quality_check", "--reference", str(roots / "ref.csv"), "--current", str(roots / "cur.csv"), "--json")
    doc = json.loads(capsys.readouterr().out)
    by = {c["name"]: c for c in doc["checks"]}
    assert by["out_of_range:age"]["score"] is None and by["out_of_range:age"]["rule"].startswith("not checked: ")
    assert by["freshness"]["rule"] == "not checked: no timestamp_column and no batch arrival time"
    assert doc["not_checked"] == sum(c["score"] is None for c in doc["checks"]) >= 3
    assert doc["failed"] == sum(c["failed"] for c in doc["checks"])


@pytest.mark.django_db
def test_a_profile_reference_lists_a_feature_of_a_kind_it_keeps_no_statistics_of(users, version, roots):
    ref = make_frame(2000, seed=1).assign(seen=pd.Timestamp("2026-12-01", tz="UTC") + pd.to_timedelta(np.arange(2000), "s"))
    path = roots / "ref.parquet"
    ref.to_parquet(path)
    cols = ["age", "region", "seen"]
    profile = services.reference_profile_create(
        actor=users["steward"], model_version=version, name="ref", location=str(path), columns=cols
    )
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="p", reference_profile=profile, columns=cols, schedule_minutes=0
    )
    cur = make_frame(400, seed=5).assign(seen=pd.Timestamp("2026-12-07", tz="UTC"))
    batch = services.batch_log(actor=users["service"], model_version=version, rows=cur)
    run = services.monitor_run(actor=users["service"], monitor=monitor, batches=[batch], fan_out=False)
    assert run.status == "succeeded", run.error
    seen = run.results.get(kind="drift", name="seen")
    assert seen.score is None and not seen.flagged and seen.details["skipped"].startswith("datetime columns get no drift test")
    assert seen.threshold_source.startswith("not checked: datetime columns get no drift test")
    ns = run.results.get(kind="quality", name="null_share:seen")
    assert ns.score is None and ns.threshold_source.startswith("not checked: the reference keeps no statistics")
    assert run.results.get(kind="drift", name="age").score is not None
