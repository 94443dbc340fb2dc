"""Fan-out: a run over a large window is cut into column parts plus a joint part, each a Celery task
(eager here; on a real worker in tests/monitoring/test_worker.py), merged by the last part: the results
are those of one worker over the same window, multiple-testing correction and concept rule included."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from monitoring import services
from monitoring.models import MonitorRun, MonitorRunPart
from monitoring.services import fanout
from tests.monitoring.conftest import make_frame
from tests.monitoring.test_stream import _same

pytestmark = pytest.mark.django_db


def _window(users, version, n=3, rows=400):
    out = []
    for i in range(n):
        f = make_frame(rows, seed=90 + i, shift=0.3 * i)
        f.loc[: rows // 8, "income"] = None
        out.append(services.batch_log(actor=users["service"], model_version=version, rows=f))
    labels = make_frame(n * rows, seed=99, label=True)[["label"]]
    labels["prediction_id"] = [f"p{90 + i // rows}-{i % rows}" for i in range(n * rows)]
    services.batch_log(actor=users["service"], model_version=version, rows=labels, kind="labels")
    return out


@pytest.mark.parametrize("drift_options", [{}, {"correction": "bh", "num_method": "ks"}])
def test_a_fanned_out_run_gives_the_results_of_one_worker(
    users, version, reference_asset, django_capture_on_commit_callbacks, drift_options, monkeypatch
):
    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="wide",
        reference_asset=reference_asset,
        drift_options=drift_options,
        multivariate_methods=["pca_reconstruction", "domain_classifier"],
        schedule_minutes=0,
    )
    batches = _window(users, version)
    one = services.monitor_run(actor=users["service"], monitor=monitor, batches=batches, fan_out=False)
    assert one.status == "succeeded", one.error
    monkeypatch.setattr(fanout, "COLUMN_PARTS", 4)
    with django_capture_on_commit_callbacks(execute=True):
        many = services.monitor_run(actor=users["service"], monitor=monitor, batches=batches, fan_out=True)
    many.refresh_from_db()
    assert many.status == "succeeded", many.error
    parts = list(MonitorRunPart.objects.filter(run=many))
    assert len(parts) == 5 and all(p.done and p.attempts == 1 for p in parts)
    assert parts[0].columns == [] and sum(len(p.columns) for p in parts[1:]) == one.summary["features"]
    assert many.summary["parts"] == 5
    assert {r.kind for r in one.results.all()} >= {"drift", "dataset_drift", "quality", "multivariate", "performance", "concept"}
    _same(many, one)
    assert (many.dataset_drift, many.share_drifted, many.reference_label) == (
        one.dataset_drift,
        one.share_drifted,
        one.reference_label,
    )
    assert AuditEvent.objects.filter(action="monitoring.run_fan_out", target_id=str(many.pk)).count() == 1


def test_a_window_over_the_size_fans_out_by_default_and_a_redelivered_part_is_not_redone(
    users, version, reference_asset, django_capture_on_commit_callbacks, monkeypatch
):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, schedule_minutes=0
    )
    batches = _window(users, version, n=2, rows=200)
    monkeypatch.setattr(fanout, "FAN_OUT_ROWS", 300)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.monitor_run(actor=users["service"], monitor=monitor, batches=batches)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.summary["parts"] >= 2
    finished = run.finished_at
    fanout.run_part_execute(run_id=run.pk, index=1)  # redelivered after the merge: nothing changes
    run.refresh_from_db()
    assert run.finished_at == finished and MonitorRunPart.objects.get(run=run, index=1).attempts == 1
    assert MonitorRun.objects.filter(monitor=monitor).count() == 1


def test_a_part_that_fails_fails_the_run_with_a_message_naming_no_value(
    users, version, reference_asset, django_capture_on_commit_callbacks
):
    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="m",
        reference_asset=reference_asset,
        columns=["age", "income", "missing_feature"],
        schedule_minutes=0,
    )
    batches = _window(users, version, n=1, rows=200)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.monitor_run(actor=users["service"], monitor=monitor, batches=batches, fan_out=True)
    run.refresh_from_db()
    assert run.status == "failed" and "missing_feature" in run.error
