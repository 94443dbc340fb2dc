"""Fairness findings feed monitoring alerts: a production fairness check of a model version runs, per
monitor of the version, a ``fairness`` run whose results go through ``monitoring.services.sync_alerts``
(the alert service every monitor run uses) in the assessment's transaction: a failing check opens one
alert, a repeat refreshes it, a passing check resolves it; the finding names its alert.

The feed is on (``findings.FEED_ALERTS``) since monitoring skips ``fairness`` runs wherever it reads a
monitor's latest window (``monitoring.models.window_q``): new batches, ``/metrics``, the asset tab, the
version page and the distribution plot. These tests pin the flag on (the real services)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.models import AuditEvent
from compliance.policies.choices import FindingStatus
from monitoring import services as monitoring_services
from monitoring.choices import AlertState, ResultKind
from monitoring.explain import services
from monitoring.explain.models import FairnessFinding
from monitoring.models import Alert, MonitorResult, MonitorRun
from tests.factories import AssetFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roots(tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    from monitoring.explain import decisions

    decisions._ROWS.clear()
    return tmp_path


@pytest.fixture(autouse=True)
def feed_on(monkeypatch):
    from monitoring.explain import findings

    monkeypatch.setattr(findings, "FEED_ALERTS", True)


def _decisions(n=1000, rate_a=0.6, rate_b=0.3, seed=0, start=0):
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, "a", "b")
    p = np.where(g == "a", rng.random(n) < rate_a, rng.random(n) < rate_b).astype(int)
    return pd.DataFrame({"prediction_id": [f"p-{start + i}" for i in range(n)], "g": g, "prediction": p})


def _setup(users, roots):
    version = ModelVersionFactory()
    path = roots / "reference.csv"
    _decisions(n=2000, rate_a=0.5, rate_b=0.5, seed=9).drop(columns=["prediction_id"]).to_csv(path, index=False)
    monitor = monitoring_services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="decisions",
        reference_asset=AssetFactory(location=str(path), kind="file"),
        columns=["g"],
        schedule_minutes=0,
        chunk_rows=0,
    )
    return version, monitor


def _log(users, version, frame):
    return monitoring_services.batch_log(actor=users["steward"], model_version=version, rows=frame)


def _check(users, version, batch):
    return services.fairness_check_production(actor=users["steward"], model_version=version, group=["g"], batch_ids=[batch.pk])


def test_a_failing_check_opens_one_alert_a_repeat_refreshes_it_and_a_pass_resolves_it(users, roots):
    version, monitor = _setup(users, roots)
    first = _log(users, version, _decisions(seed=1))
    a1 = _check(users, version, first)
    (alert,) = Alert.objects.filter(monitor=monitor)
    assert alert.kind == ResultKind.FAIRNESS == "fairness" and alert.state == AlertState.OPEN
    assert alert.subject == "four_fifths [g]"
    run1 = MonitorRun.objects.get(monitor=monitor, trigger="fairness")
    assert alert.first_run == alert.last_run == run1 and run1.batch_ids == [first.pk]
    assert run1.summary == {"fairness_assessment": a1.pk, "flagged": 1}
    result = MonitorResult.objects.get(run=run1)
    assert result.kind == "fairness" and result.flagged and result.score == a1.report["four_fifths"]["ratio"] < 0.8
    (finding,) = FairnessFinding.objects.all()
    assert finding.alert_id == alert.pk and finding.status == FindingStatus.OPEN
    opened = AuditEvent.objects.get(action="monitoring.alert_open")
    assert opened.details["kind"] == "fairness" and opened.details["run"] == run1.pk
    assess = AuditEvent.objects.get(action="explain.fairness_assess", target_id=str(a1.pk))
    assert assess.details["alerts"] == "fed"

    second = _log(users, version, _decisions(seed=2, start=1000))
    _check(users, version, second)
    (same,) = Alert.objects.filter(monitor=monitor)
    run2 = MonitorRun.objects.filter(monitor=monitor, trigger="fairness").order_by("-id").first()
    assert same.pk == alert.pk and same.state == AlertState.OPEN and same.first_run == run1 and same.last_run == run2
    assert AuditEvent.objects.filter(action="monitoring.alert_open").count() == 1
    assert FairnessFinding.objects.get().alert_id == alert.pk

    fair = _log(users, version, _decisions(seed=3, rate_a=0.5, rate_b=0.5, start=2000))
    _check(users, version, fair)
    same.refresh_from_db()
    assert same.state == AlertState.RESOLVED and "did not flag it" in same.resolve_reason
    assert FairnessFinding.objects.get().status == FindingStatus.RESOLVED
    resolved = AuditEvent.objects.get(action="monitoring.alert_resolve")
    assert resolved.details["automatic"] is True
    assert Alert.objects.filter(monitor=monitor).count() == 1


def test_a_reopened_finding_opens_a_new_alert(users, roots):
    version, monitor = _setup(users, roots)
    _check(users, version, _log(users, version, _decisions(seed=1)))
    _check(users, version, _log(users, version, _decisions(seed=3, rate_a=0.5, rate_b=0.5, start=1000)))
    _check(users, version, _log(users, version, _decisions(seed=4, start=2000)))
    assert list(Alert.objects.filter(monitor=monitor).order_by("id").values_list("state", flat=True)) == [
        AlertState.RESOLVED,
        AlertState.OPEN,
    ]
    finding = FairnessFinding.objects.get()
    assert finding.status == FindingStatus.OPEN and finding.alert == Alert.objects.get(state=AlertState.OPEN)


def test_the_alert_opens_in_the_assessment_transaction(users, roots, monkeypatch):
    """A failure after the alert service ran rolls back the assessment, the finding and the alert."""
    from monitoring.explain import findings

    version, monitor = _setup(users, roots)
    batch = _log(users, version, _decisions(seed=1))
    real = findings.feed_alerts

    def then_fail(**kw):
        assert real(**kw)  # the real service opened the alert
        raise RuntimeError("after the alert")

    monkeypatch.setattr(findings, "feed_alerts", then_fail)
    with pytest.raises(RuntimeError, match="after the alert"):
        _check(users, version, batch)
    assert not Alert.objects.exists() and not FairnessFinding.objects.exists()
    assert not MonitorRun.objects.filter(trigger="fairness").exists()
    assert not AuditEvent.objects.filter(action__in=["monitoring.alert_open", "explain.fairness_assess"]).exists()


def test_a_fairness_run_does_not_hide_new_batches_from_the_monitors_next_run(users, roots):
    """The fairness run is not a drift run: the monitor's next run still covers the batches it read."""
    version, monitor = _setup(users, roots)
    batch = _log(users, version, _decisions(seed=1))
    _check(users, version, batch)
    run = monitoring_services.monitor_run(actor=users["steward"], monitor=monitor)
    assert run.batch_ids == [batch.pk] and run.trigger == "manual"


def test_with_the_feed_off_a_failing_check_opens_a_finding_and_no_alert(users, roots, monkeypatch):
    from monitoring.explain import findings

    monkeypatch.setattr(findings, "FEED_ALERTS", False)
    version, monitor = _setup(users, roots)
    batch = _log(users, version, _decisions(seed=1))
    a = _check(users, version, batch)
    assert FairnessFinding.objects.get().status == FindingStatus.OPEN
    assert not Alert.objects.exists() and not MonitorRun.objects.filter(trigger="fairness").exists()
    assess = AuditEvent.objects.get(action="explain.fairness_assess", target_id=str(a.pk))
    assert assess.details["alerts"] == findings.NOT_FED
    assert monitoring_services.monitor_run(actor=users["steward"], monitor=monitor).batch_ids == [batch.pk]


def test_the_flag_is_on():
    from monitoring.explain import findings

    assert findings.FEED_ALERTS is True and findings.alerts_supported()


@pytest.fixture
def drift_then_fairness(users, roots):
    """A drift run over one batch (90 % "a"), then a fairness check over the next (about half "a")."""
    version, monitor = _setup(users, roots)
    first_frame = _decisions(seed=1, rate_a=0.5, rate_b=0.5)
    first_frame["g"] = np.where(np.arange(len(first_frame)) < 900, "a", "b")
    first = _log(users, version, first_frame)
    drift_run = monitoring_services.monitor_run(actor=users["steward"], monitor=monitor)
    second = _log(users, version, _decisions(seed=2, start=1000))
    _check(users, version, second)
    fairness_run = MonitorRun.objects.get(monitor=monitor, trigger="fairness")
    assert fairness_run.batch_ids == [second.pk] and drift_run.batch_ids == [first.pk]
    assert fairness_run.finished_at > drift_run.finished_at
    return monitor, drift_run, second


def test_the_next_drift_run_still_covers_the_fairness_runs_batches(drift_then_fairness):
    from monitoring.services.runs import new_batches

    monitor, _run, second = drift_then_fairness
    assert [b.pk for b in new_batches(monitor)] == [second.pk]


def test_metrics_expose_the_drift_run_not_the_fairness_run(drift_then_fairness, settings):
    from django.test import Client
    from prometheus_client.parser import text_string_to_metric_families

    _monitor, drift_run, _ = drift_then_fairness
    settings.CUSTOS_METRICS_TOKEN = "t"
    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    assert [s.value for s in fams["custos_dataset_drift_share"].samples] == [drift_run.share_drifted]
    assert {s.labels["feature"] for s in fams["custos_drift_score"].samples} == {"g"}
    assert [s.value for s in fams["custos_monitor_last_run_timestamp_seconds"].samples] == [drift_run.finished_at.timestamp()]


def test_the_asset_tab_shows_the_drift_run(drift_then_fairness, users, rf):
    from monitoring import panels

    monitor, drift_run, _ = drift_then_fairness
    request = rf.get("/")
    request.user = users["auditor"]
    (row,) = panels.asset_quality(request, monitor.reference_asset)["monitors"]
    assert row["run"] == drift_run and [r.name for r in row["drift"] if r.kind == "drift"] == ["g"]


def test_the_version_page_shows_the_drift_run(drift_then_fairness, users):
    from django.test import Client
    from django.urls import reverse

    monitor, drift_run, _ = drift_then_fairness
    client = Client()
    client.force_login(users["auditor"])
    response = client.get(reverse("models:version", args=[monitor.model_version_id]))
    (shown,) = response.context["monitors"]
    assert shown["run"] == drift_run and shown["runs"] == 1 and shown["distributions"] == ["g"]


def test_the_distribution_plot_reads_the_drift_runs_window(drift_then_fairness):
    from monitoring import selectors

    monitor, _run, _ = drift_then_fairness
    labels, _ref, cur = selectors.feature_distribution(monitor=monitor, feature="g")
    assert dict(zip(labels, cur, strict=True)) == pytest.approx({"a": 0.9, "b": 0.1})
