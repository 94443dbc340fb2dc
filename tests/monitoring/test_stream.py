"""Near real time: logged batches fold into the open chunk's running statistics (monitoring.stats.stream),
and the chunk's check from those statistics gives the results a run re-reading the same batches gives,
without reading the batches merged before (their files are gone in one test). The real-worker timing is
tests/monitoring/test_worker.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.models import AuditEvent
from monitoring import services
from monitoring.models import MonitorChunk, MonitorRun
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.quality import QualityConfig, ReferenceSummary, run_checks
from monitoring.stats.stream import ChunkState, quality_from_state
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db
FEATURES = ["age", "income", "region", "score"]


def _batches(n: int, rows: int, seed: int, shift: float = 0.0) -> list[pd.DataFrame]:
    out = []
    for i in range(n):
        f = make_frame(rows, seed=seed + i, shift=shift)
        f.loc[: rows // 10, "income"] = None
        out.append(f)
    return out


def _key(r) -> tuple:
    return (r.kind, r.name)


def _same(a, b, *, skip=("freshness",)) -> None:
    """Two runs' results agree: same subjects, methods, decisions, thresholds; scores to 1e-9."""
    left = {_key(r): r for r in a.results.all() if r.name not in skip}
    right = {_key(r): r for r in b.results.all() if r.name not in skip}
    assert set(left) == set(right)
    for k, r in left.items():
        o = right[k]
        assert (r.method, r.flagged, r.threshold_source) == (o.method, o.flagged, o.threshold_source), k
        assert (r.threshold is None) == (o.threshold is None) and (r.threshold is None or math.isclose(r.threshold, o.threshold))
        if r.score is None or o.score is None:
            assert r.score is o.score is None, k
        else:
            assert math.isclose(r.score, o.score, rel_tol=1e-9, abs_tol=1e-12), (k, r.score, o.score)


def test_the_state_folded_batch_by_batch_gives_run_checks_on_the_concatenated_batches():
    reference = make_frame(3000, seed=1)
    kinds = resolve_kinds(reference, FEATURES, None)
    summary = ReferenceSummary.from_frame(reference, kinds)
    config = QualityConfig.from_json({"uniqueness": {"columns": ["prediction_id"]}})
    parts = _batches(5, 200, seed=40, shift=0.4)
    parts[2] = parts[2].drop(columns=["region"])  # a batch without a feature: its rows count as missing
    parts[3].loc[:5, "age"] = 500.0  # out of range
    parts[4].loc[:9, "region"] = "west"  # a new category
    parts[4].loc[10:14, "prediction_id"] = parts[0].loc[10:14, "prediction_id"].to_numpy()  # duplicates across batches
    state = ChunkState.empty(FEATURES, kinds)
    for p in parts:
        state.add(p, reference=summary, config=config, id_column="prediction_id")
    whole = pd.concat(parts, ignore_index=True)
    expected = run_checks(summary, whole, features=FEATURES, config=config, id_column="prediction_id", ignore_added=["label"])
    got = quality_from_state(summary, ChunkState.from_json(state.to_json()), config=config, ignore_added=["label"])
    exp = {q.name: q for q in expected if q.check != "freshness"}
    res = {q.name: q for q in got if q.check != "freshness"}
    assert set(exp) == set(res)
    for name, q in exp.items():
        r = res[name]
        assert (r.failed, r.threshold, r.rule) == (q.failed, q.threshold, q.rule), name
        assert math.isclose(r.score, q.score, rel_tol=1e-12), name
    assert res["uniqueness:prediction_id"].details["duplicates"] == 5
    assert res["out_of_range:age"].details["outside"] >= 6 and res["new_categories:region"].details["new_values"] == 10
    assert math.isclose(res["null_share:region"].score, 200 / 1000)


def test_states_merge_in_any_order_to_the_state_of_the_union():
    reference = make_frame(2000, seed=2)
    kinds = resolve_kinds(reference, FEATURES, None)
    summary = ReferenceSummary.from_frame(reference, kinds)
    config = QualityConfig.from_json({})
    parts = _batches(4, 150, seed=70)
    states = []
    for p in parts:
        s = ChunkState.empty(FEATURES, kinds)
        s.add(p, reference=summary, config=config, id_column="prediction_id")
        states.append(s)
    left = states[0].merge(states[1]).merge(states[2].merge(states[3]))
    seq = ChunkState.empty(FEATURES, kinds)
    for p in reversed(parts):
        seq.add(p, reference=summary, config=config, id_column="prediction_id")
    a, b = left.to_json(), seq.to_json()
    assert a["rows"] == b["rows"] == 600 and a["nulls"] == b["nulls"] and a["unique"] == b["unique"]
    for name in ("age", "score"):
        pa, pb = a["profile"]["columns"][name], b["profile"]["columns"][name]
        assert pa["values"] == pb["values"] and pa["counts"] == pb["counts"]
        assert math.isclose(pa["mean"], pb["mean"], rel_tol=1e-12) and math.isclose(pa["m2"], pb["m2"], rel_tol=1e-9)


@pytest.fixture
def stream_monitor(users, version, reference_asset):
    return services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="stream",
        reference_asset=reference_asset,
        columns=FEATURES,
        chunk_rows=5000,
        schedule_minutes=0,
    )


def test_the_chunk_check_from_running_statistics_equals_a_run_re_reading_the_batches(users, version, stream_monitor):
    logged = [
        services.batch_log(actor=users["service"], model_version=version, rows=f) for f in _batches(4, 250, seed=10, shift=0.5)
    ]
    runs = [services.chunk_update(actor=users["service"], monitor=stream_monitor, batch=b) for b in logged]
    assert all(r is not None and r.status == "succeeded" and r.trigger == "stream" for r in runs)
    last = runs[-1]
    assert last.batch_ids == [b.pk for b in logged] and last.rows == 1000
    assert last.summary["chunk"] == 0 and last.summary["chunk_rows"] == 1000
    full = services.monitor_run(actor=users["service"], monitor=stream_monitor, batches=logged, fan_out=False)
    full_subset = {(r.kind, r.name) for r in full.results.all() if r.kind in ("drift", "dataset_drift", "quality")}
    assert {(r.kind, r.name) for r in last.results.all()} == full_subset
    # the full run also has multivariate and performance results; compare what both have
    full.results.exclude(kind__in=["drift", "dataset_drift", "quality"]).delete()
    _same(last, full)
    assert last.results.get(name="age").flagged and last.results.get(name="null_share:income").flagged
    chunk = MonitorChunk.objects.get(monitor=stream_monitor)
    assert chunk.is_open and chunk.rows == 1000 and chunk.batch_ids == [b.pk for b in logged]
    assert AuditEvent.objects.filter(action="monitoring.chunk_update").count() == 4
    assert last.current_sha256 == full.current_sha256


def test_a_chunk_update_never_reads_the_batches_merged_before(users, version, stream_monitor):
    first, second = (
        services.batch_log(actor=users["service"], model_version=version, rows=f) for f in _batches(2, 300, seed=20, shift=0.6)
    )
    services.chunk_update(actor=users["service"], monitor=stream_monitor, batch=first)
    Path(first.location).unlink()  # the first batch's file is gone: the second update must not need it
    run = services.chunk_update(actor=users["service"], monitor=stream_monitor, batch=second)
    assert run.status == "succeeded" and run.rows == 600
    assert run.results.get(name="row_count").score == 600.0
    assert run.results.get(name="age").details["n_cur"] == 600
    # a redelivered update of a merged batch changes nothing
    assert services.chunk_update(actor=users["service"], monitor=stream_monitor, batch=second) is None
    assert MonitorChunk.objects.get(monitor=stream_monitor).rows == 600


def test_below_min_rows_the_batch_is_merged_without_a_check(users, version, stream_monitor):
    tiny = services.batch_log(actor=users["service"], model_version=version, rows=make_frame(10, seed=5))
    assert services.chunk_update(actor=users["service"], monitor=stream_monitor, batch=tiny) is None
    assert MonitorChunk.objects.get(monitor=stream_monitor).rows == 10 and not MonitorRun.objects.exists()


def test_a_full_chunk_closes_and_gets_one_full_run_over_its_batches(
    users, version, reference_asset, django_capture_on_commit_callbacks
):
    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="small-chunks",
        reference_asset=reference_asset,
        columns=FEATURES,
        chunk_rows=500,
        schedule_minutes=0,
    )
    logged = [
        services.batch_log(actor=users["service"], model_version=version, rows=f) for f in _batches(3, 250, seed=30, shift=0.5)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for b in logged:
            services.chunk_update(actor=users["service"], monitor=monitor, batch=b)
    chunks = list(MonitorChunk.objects.filter(monitor=monitor).order_by("index"))
    assert [(c.index, c.is_open, c.rows) for c in chunks] == [(0, False, 500), (1, True, 250)]
    closing = MonitorRun.objects.get(monitor=monitor, trigger="chunk")
    assert closing.status == "succeeded" and closing.batch_ids == [logged[0].pk, logged[1].pk]
    assert closing.results.filter(kind="multivariate").exists()  # the checks that need rows
    latest = MonitorRun.objects.filter(monitor=monitor, trigger="stream").order_by("-id").first()
    assert latest.batch_ids == [logged[2].pk] and latest.rows == 250


def test_a_monitor_with_chunk_rows_zero_keeps_re_reading_its_window(users, version, reference_asset):
    from monitoring import tasks

    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="batchwise",
        reference_asset=reference_asset,
        columns=FEATURES,
        chunk_rows=0,
        schedule_minutes=0,
    )
    batch = services.batch_log(actor=users["service"], model_version=version, rows=make_frame(300, seed=8))
    tasks.on_new_batch(batch, users["service"].pk)
    run = MonitorRun.objects.get(monitor=monitor)
    assert run.trigger == "new_data" and not MonitorChunk.objects.filter(monitor=monitor).exists()


def test_a_profile_reference_streams_too(users, version, roots):
    path = roots / "ref.parquet"
    make_frame(5000, seed=1).to_parquet(path)
    profile = services.reference_profile_create(
        actor=users["steward"], model_version=version, name="ref", location=str(path), columns=FEATURES
    )
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="p", reference_profile=profile, columns=FEATURES, schedule_minutes=0
    )
    logged = [services.batch_log(actor=users["service"], model_version=version, rows=f) for f in _batches(2, 400, seed=50)]
    run = None
    for b in logged:
        run = services.chunk_update(actor=users["service"], monitor=monitor, batch=b)
    full = services.monitor_run(actor=users["service"], monitor=monitor, batches=logged, fan_out=False)
    full.results.exclude(kind__in=["drift", "dataset_drift", "quality"]).delete()
    _same(run, full)
    assert np.isfinite(run.results.get(name="income").score)
