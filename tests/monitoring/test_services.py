"""Monitors, profiles, logged batches, runs, results and alerts through the services: permissions,
audit events in the same transaction, data only through compliance.datasets, alert life cycle."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from catalog.choices import Sensitivity
from compliance import datasets
from monitoring import services
from monitoring.choices import AlertState, ResultKind
from monitoring.models import Alert, LoggedBatch, Monitor, MonitorResult, MonitorRun, ReferenceProfile
from monitoring.stats.drift import drift_frames
from tests.factories import AssetFactory
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db
FEATURES = ["age", "income", "region", "score"]


def _monitor(users, version, asset, **kw):
    return services.monitor_create(
        actor=users["steward"], model_version=version, name="inputs", reference_asset=asset, columns=FEATURES, **kw
    )


def test_a_viewer_or_auditor_may_not_create_monitors_or_log_batches(users, version, reference_asset):
    for role in ("viewer", "auditor"):
        with pytest.raises(PermissionDenied, match=f"{role} may not add monitors"):
            _monitor({"steward": users[role]}, version, reference_asset)
        with pytest.raises(PermissionDenied, match=f"{role} may not add logged batches"):
            services.batch_log(actor=users[role], model_version=version, rows=make_frame(5, seed=2))


def test_a_monitor_needs_exactly_one_reference_and_valid_options(users, version, reference_asset):
    with pytest.raises(ValidationError, match="one reference"):
        services.monitor_create(actor=users["steward"], model_version=version, name="x")
    with pytest.raises(ValidationError, match="unknown option"):
        _monitor(users, version, reference_asset, drift_options={"methd": "ks"})
    with pytest.raises(ValidationError):
        _monitor(users, version, reference_asset, drift_options={"method": "not-a-method"})
    monitor = _monitor(users, version, reference_asset)
    event = AuditEvent.objects.get(action="monitoring.monitor_create")
    assert event.target_id == str(monitor.pk) and event.details["columns"] == 4


def test_a_logged_batch_is_a_file_under_the_data_roots_with_its_digest(users, version, roots):
    batch = services.batch_log(actor=users["service"], model_version=version, rows=make_frame(50, seed=2))
    assert batch.rows == 50 and str(roots) in batch.location and batch.location.endswith(".parquet")
    back = datasets.read_frame(batch.location)
    assert list(back.columns) == batch.columns and len(back) == 50
    assert AuditEvent.objects.get(action="monitoring.batch_log").details["sha256"] == batch.sha256
    with pytest.raises(ValidationError, match="repeats"):
        services.batch_log(actor=users["service"], model_version=version, rows=pd.DataFrame({"prediction_id": [1, 1]}))
    with pytest.raises(ValidationError, match="needs the column"):
        services.batch_log(actor=users["service"], model_version=version, rows=pd.DataFrame({"x": [1]}), kind="labels")


def test_a_run_stores_the_drift_of_every_feature_as_the_engine_computes_it(users, version, reference_asset):
    monitor = _monitor(users, version, reference_asset)
    current = make_frame(2000, seed=3, shift=0.6)
    services.batch_log(actor=users["service"], model_version=version, rows=current)
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert run.status == "succeeded" and run.rows == 2000 and len(run.current_sha256) == 64
    expected = drift_frames(datasets.read_frame(reference_asset), current, columns=FEATURES)
    got = {r.name: r for r in run.results.filter(kind=ResultKind.DRIFT)}
    for c in expected.columns:
        assert got[c.name].method == c.method and got[c.name].score == pytest.approx(c.score, abs=1e-12)
        assert got[c.name].flagged == c.drifted and got[c.name].threshold == c.threshold
        assert got[c.name].details["n_ref"] == 3000 and got[c.name].details["n_cur"] == 2000
    assert run.dataset_drift == expected.dataset_drift and run.share_drifted == expected.share_drifted
    assert {"numpy", "scipy", "pandas"} <= set(run.library_versions)
    actions = list(
        AuditEvent.objects.filter(target_type="monitoring.monitorrun", target_id=str(run.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["monitoring.run_finish", "monitoring.run_start"]


def test_alerts_open_on_drift_are_acknowledged_with_a_reason_and_resolve_when_it_is_gone(users, version, reference_asset):
    monitor = _monitor(users, version, reference_asset)
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(2000, seed=3, shift=0.6))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    flagged = set(run.results.filter(flagged=True).values_list("kind", "name"))
    alerts = Alert.objects.filter(monitor=monitor)
    assert flagged and set(alerts.values_list("kind", "subject")) == flagged
    alert = alerts.get(kind=ResultKind.DRIFT, subject="age")
    assert "wasserstein" in alert.message and alert.state == AlertState.OPEN
    with pytest.raises(ValidationError, match="reason"):
        services.alert_acknowledge(actor=users["steward"], alert=alert, reason="  ")
    with pytest.raises(PermissionDenied):
        services.alert_acknowledge(actor=users["viewer"], alert=alert, reason="seen")
    alert = services.alert_acknowledge(actor=users["steward"], alert=alert, reason="seasonal shift, retraining planned")
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == users["steward"]
    ack = AuditEvent.objects.get(action="monitoring.alert_acknowledge")
    assert ack.reason == "seasonal shift, retraining planned"
    # the same drift again: still one unresolved alert per subject, refreshed
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(2000, seed=4, shift=0.6))
    run2 = services.monitor_run(actor=users["service"], monitor=monitor)
    assert Alert.objects.filter(monitor=monitor, subject="age").count() == 1
    assert Alert.objects.get(pk=alert.pk).last_run == run2
    # back to the reference's distribution: the run resolves the alert, audited
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(2000, seed=5))
    run3 = services.monitor_run(actor=users["service"], monitor=monitor)
    assert run3.batch_ids == [LoggedBatch.objects.latest("pk").pk]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and "did not flag" in alert.resolve_reason
    assert AuditEvent.objects.filter(action="monitoring.alert_resolve", target_id=str(alert.pk)).exists()


def test_a_run_against_a_stored_profile_does_not_read_the_reference(users, version, reference_asset, roots):
    profile = services.reference_profile_create(
        actor=users["steward"], model_version=version, name="eval", asset=reference_asset, columns=FEATURES
    )
    assert profile.rows == 3000 and profile.columns == FEATURES and len(profile.dataset_sha256) == 64
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="profiled", reference_profile=profile, columns=FEATURES
    )
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(2000, seed=3, shift=0.6))
    (roots / "reference.parquet").unlink()  # gone: the profile is all the run needs
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert run.status == "succeeded" and run.reference_label == f"profile {profile.pk}"
    assert run.results.filter(kind=ResultKind.DRIFT, name="age", flagged=True).exists()


def test_a_run_on_data_missing_a_feature_fails_with_a_message_naming_the_column(users, version, reference_asset):
    monitor = _monitor(users, version, reference_asset)
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(100, seed=3).drop(columns=["age"]))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    assert run.status == "failed" and run.error == "the logged data has no column(s) age"
    assert AuditEvent.objects.filter(action="monitoring.run_fail", target_id=str(run.pk)).exists()
    with pytest.raises(ValidationError, match="no logged predictions"):
        services.monitor_run(actor=users["service"], monitor=monitor, batches=[])


def test_restricted_training_data_hides_the_monitor_from_viewers_and_services_but_not_the_owner(
    users, version, reference_asset, make_user
):
    monitor = _monitor(users, version, reference_asset)
    restricted = AssetFactory(sensitivity=Sensitivity.RESTRICTED)
    for model in (Monitor, MonitorRun, MonitorResult, Alert, ReferenceProfile, LoggedBatch):
        assert model.objects.restrict(users["viewer"], "view").count() == model.objects.count()
    version.training_datasets.add(restricted)
    assert not Monitor.objects.restrict(users["viewer"], "view").exists()
    assert not Monitor.objects.restrict(users["service"], "view").exists()
    assert Monitor.objects.restrict(users["auditor"], "view").get() == monitor
    owner = make_user("viewer")
    version.model.owner = owner
    version.model.save()
    assert Monitor.objects.restrict(owner, "view").get() == monitor
    with pytest.raises(ValidationError, match="no such model version"):
        services.batch_log(actor=users["service"], model_version=version, rows=make_frame(5, seed=2))


def test_a_run_stores_quality_results_and_alerts_on_a_failed_check(users, version, reference_asset):
    monitor = _monitor(users, version, reference_asset, quality_checks={"null_share": {"max": 0.1}})
    current = make_frame(500, seed=7)
    current.loc[:99, "income"] = None  # 20 % missing
    current["region"] = current["region"].replace({"east": "west"})  # a category the reference never had
    services.batch_log(actor=users["service"], model_version=version, rows=current)
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    q = {r.name: r for r in run.results.filter(kind=ResultKind.QUALITY)}
    assert q["null_share:income"].score == pytest.approx(0.2) and q["null_share:income"].flagged
    assert q["new_categories:region"].flagged and q["new_categories:region"].score == pytest.approx(
        (current["region"] == "west").mean()
    )
    assert not q["schema"].flagged and not q["uniqueness:prediction_id"].flagged and not q["freshness"].flagged
    assert q["row_count"].score == 500
    subjects = set(Alert.objects.filter(monitor=monitor, kind=ResultKind.QUALITY).values_list("subject", flat=True))
    assert {"null_share:income", "new_categories:region"} <= subjects
    with pytest.raises(ValidationError, match="unknown quality check"):
        services.monitor_update(actor=users["steward"], monitor=monitor, quality_checks={"nul": 1})
