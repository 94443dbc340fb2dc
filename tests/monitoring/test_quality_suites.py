"""Per-asset data-quality suites (monitoring.services.quality_suites) on the real database: the baseline
is a summary of the reference asset's rows (no rows stored), a run reads the asset through
compliance.datasets, stores every check, opens an alert per failed check and resolves it when a later
run passes it, every step in the ledger; the role matrix and restrict() scoping decide who may do and
see what; the monitoring tick runs suites on their schedule or when the asset's file changed."""

from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from catalog.choices import Sensitivity
from monitoring import services, tasks
from monitoring.choices import AlertState
from monitoring.models import QualityAlert, QualityCheckResult, QualityRun, QualitySuite
from monitoring.stats.drift import resolve_kinds
from monitoring.stats.quality import QualityConfig, ReferenceSummary, run_checks
from tests.compliance.evidence.conftest import ledger_key  # noqa: F401 - fixture
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def frame(n=400, *, seed=0, nulls=0.0, shift=0.0, new_city=False):
    rng = np.random.default_rng(seed)
    city = rng.choice(["oslo", "rome", "lima"], n)
    if new_city:
        city[: n // 4] = "kyiv"
    income = rng.normal(50 + shift, 5, n)
    income[rng.random(n) < nulls] = np.nan
    return pd.DataFrame({"id": [f"r{seed}-{i}" for i in range(n)], "income": income, "city": city})


@pytest.fixture
def assets(roots):
    ref, cur = roots / "last_week.parquet", roots / "today.parquet"
    frame(seed=1).to_parquet(ref)
    frame(seed=2).to_parquet(cur)
    reference = AssetFactory(location=str(ref), qualified_name="files.last_week")
    asset = AssetFactory(location=str(cur), qualified_name="files.today")
    return asset, reference, cur


def _suite(users, assets, **kw):
    asset, reference, _ = assets
    kw.setdefault("checks", {"uniqueness": {"columns": ["id"]}, "freshness": {"max_age_minutes": 60}})
    return services.quality_suite_create(actor=users["steward"], asset=asset, name="daily", reference_asset=reference, **kw)


def test_the_baseline_is_a_summary_of_the_reference_and_a_run_equals_the_library_on_the_same_rows(users, assets):
    asset, reference, path = assets
    suite = _suite(users, assets)
    assert set(suite.baseline["columns"]) == {"id", "income", "city"}
    assert suite.baseline["columns"]["city"]["categories"] == ["lima", "oslo", "rome"]
    assert suite.baseline["columns"]["id"]["categories"] is None  # text, not categorical: no values kept
    assert suite.baseline_sha256 and AuditEvent.objects.filter(action="monitoring.quality_suite_create").count() == 1

    run = services.quality_suite_run(actor=users["service"], suite=suite)
    assert run.status == "succeeded" and run.rows == 400 and run.trigger == "manual"
    ref = pd.read_parquet(reference.location)
    expected = run_checks(
        ReferenceSummary.from_frame(ref, resolve_kinds(ref, list(ref.columns), None)),
        pd.read_parquet(path),
        features=list(ref.columns),
        config=QualityConfig.from_json(suite.checks),
        newest_arrival=timezone.now(),
    )
    stored = {r.name: r for r in run.results.all()}
    assert set(stored) == {r.name for r in expected}
    for r in expected:
        if r.check != "freshness":
            assert (stored[r.name].score, stored[r.name].flagged) == (r.score, r.failed), r.name
    assert stored["freshness"].score < 60 and "modification time" in stored["freshness"].threshold_source
    assert not any(r.flagged for r in stored.values()) and not QualityAlert.objects.exists()
    finish = AuditEvent.objects.get(action="monitoring.quality_run_finish", target_id=str(run.pk))
    assert finish.details["checks"] == len(stored) and finish.details["current_sha256"] == run.current_sha256


def test_failing_checks_open_alerts_a_repeat_refreshes_them_and_a_passing_run_resolves_them(users, assets):
    asset, _, path = assets
    suite = _suite(users, assets)
    frame(seed=3, nulls=0.3, new_city=True).to_parquet(path)
    run1 = services.quality_suite_run(actor=users["service"], suite=suite)
    failed = set(run1.results.filter(flagged=True).values_list("name", flat=True))
    assert failed == {"null_share:income", "new_categories:city"}
    alerts = {a.subject: a for a in QualityAlert.objects.filter(suite=suite)}
    assert set(alerts) == failed and all(a.state == AlertState.OPEN and a.first_run == run1 for a in alerts.values())
    assert AuditEvent.objects.filter(action="monitoring.quality_alert_open").count() == 2
    text = " ".join(a.message for a in alerts.values()) + str(list(AuditEvent.objects.values_list("details", flat=True)))
    assert "kyiv" not in text  # names and numbers, never values

    run2 = services.quality_suite_run(actor=users["service"], suite=suite)
    assert QualityAlert.objects.filter(suite=suite).count() == 2
    assert {a.last_run_id for a in QualityAlert.objects.all()} == {run2.pk}
    assert AuditEvent.objects.filter(action="monitoring.quality_alert_open").count() == 2

    ack = services.quality_alert_acknowledge(actor=users["steward"], alert=alerts["null_share:income"], reason="upstream fix due")
    assert ack.state == AlertState.ACKNOWLEDGED
    with pytest.raises(ValidationError):
        services.quality_alert_acknowledge(actor=users["steward"], alert=alerts["new_categories:city"], reason="  ")
    with pytest.raises(PermissionDenied):
        services.quality_alert_acknowledge(actor=users["viewer"], alert=alerts["new_categories:city"], reason="seen")

    frame(seed=4).to_parquet(path)
    run3 = services.quality_suite_run(actor=users["service"], suite=suite)
    assert not run3.results.filter(flagged=True).exists()
    assert set(QualityAlert.objects.values_list("state", flat=True)) == {AlertState.RESOLVED}
    auto = AuditEvent.objects.filter(action="monitoring.quality_alert_resolve")
    assert auto.count() == 2 and all(e.details["automatic"] for e in auto)


def test_an_unreadable_asset_is_a_failed_run_with_its_event(users, assets):
    asset, _, path = assets
    suite = _suite(users, assets)
    os.remove(path)
    run = services.quality_suite_run(actor=users["service"], suite=suite)
    assert run.status == "failed" and "could not be read" in run.error and str(path) not in run.error
    assert AuditEvent.objects.filter(action="monitoring.quality_run_fail", target_id=str(run.pk)).exists()
    assert not QualityCheckResult.objects.exists()


def test_roles_and_scoping(users, assets, make_user):
    asset, reference, _ = assets
    with pytest.raises(PermissionDenied):
        services.quality_suite_create(actor=users["viewer"], asset=asset, name="x", reference_asset=reference)
    with pytest.raises(PermissionDenied):
        services.quality_suite_create(actor=users["auditor"], asset=asset, name="x", reference_asset=reference)
    suite = _suite(users, assets)
    with pytest.raises(PermissionDenied):
        services.quality_suite_run(actor=users["viewer"], suite=suite)
    type(asset).objects.filter(pk=asset.pk).update(sensitivity=Sensitivity.RESTRICTED)
    asset.refresh_from_db()
    services.quality_suite_run(actor=users["steward"], suite=suite)
    for model in (QualitySuite, QualityRun, QualityCheckResult):
        assert model.objects.restrict(users["service"]).count() == 0
        assert model.objects.restrict(users["viewer"]).count() == 0
        assert model.objects.restrict(users["auditor"]).count() == model.objects.count() > 0
    with pytest.raises(ValidationError):
        services.quality_suite_run(actor=users["service"], suite=suite)  # unknown to it, not a 403
    with pytest.raises(ValidationError):
        services.quality_suite_update(actor=users["service"], suite=suite, active=False)
    assert QualitySuite.objects.get().active
    owner = make_user("service")
    asset.owners.add(owner)
    assert QualitySuite.objects.restrict(owner).get() == suite  # the asset's owners see their suite
    assert services.quality_suite_run(actor=owner, suite=suite).status == "succeeded"


def test_bad_config_and_unknown_columns_are_refused(users, assets):
    asset, reference, _ = assets
    with pytest.raises(ValidationError, match="unknown quality check"):
        services.quality_suite_create(
            actor=users["steward"], asset=asset, name="x", reference_asset=reference, checks={"nope": {}}
        )
    with pytest.raises(ValidationError, match="no column"):
        services.quality_suite_create(
            actor=users["steward"], asset=asset, name="x", reference_asset=reference, columns=["absent"]
        )
    assert not QualitySuite.objects.exists()


def test_update_rebaselines_when_asked_and_is_audited(users, assets):
    asset, reference, _ = assets
    suite = _suite(users, assets)
    before = suite.baseline_sha256
    frame(seed=9, shift=30).to_parquet(reference.location)
    same = services.quality_suite_update(actor=users["steward"], suite=suite, schedule_minutes=30)
    assert same.baseline_sha256 == before and same.schedule_minutes == 30
    new = services.quality_suite_update(actor=users["steward"], suite=suite, rebaseline=True)
    assert new.baseline_sha256 != before and new.baseline["columns"]["income"]["minimum"] > 60
    events = AuditEvent.objects.filter(action="monitoring.quality_suite_update").order_by("pk")
    assert [e.details["rebaselined"] for e in events] == [False, True]
    with pytest.raises(PermissionDenied):
        services.quality_suite_update(actor=users["viewer"], suite=suite, active=False)


def test_the_tick_runs_suites_on_schedule_and_on_a_changed_file(users, assets):
    asset, _, path = assets
    scheduled = _suite(users, assets, schedule_minutes=60, on_new_data=False)
    on_data = services.quality_suite_create(
        actor=users["steward"], asset=asset, name="on-data", schedule_minutes=0, on_new_data=True
    )
    assert on_data.baseline_label.startswith(f"asset {asset.pk} ")  # no reference: the asset's own rows
    assert tasks.monitors_due() == 2  # never run: the schedule is due; the file was never checked
    assert {(r.suite_id, r.trigger) for r in QualityRun.objects.all()} == {(scheduled.pk, "schedule"), (on_data.pk, "new_data")}
    assert AuditEvent.objects.filter(action="monitoring.quality_run_start", actor_id=tasks.SYSTEM_ACTOR).count() == 2
    assert tasks.monitors_due() == 0  # ran a moment ago, file unchanged
    frame(seed=5).to_parquet(path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert tasks.monitors_due() == 1 and QualityRun.objects.filter(suite=on_data).count() == 2
    QualitySuite.objects.filter(pk=scheduled.pk).update(last_run_at=timezone.now() - timedelta(minutes=61))
    assert tasks.monitors_due() == 1 and QualityRun.objects.filter(suite=scheduled).count() == 2


# --- API ---------------------------------------------------------------------------------------------


def test_api_create_run_read_and_acknowledge_with_the_role_matrix(api_as, users, assets):
    asset, reference, path = assets
    body = {"asset": asset.pk, "reference_asset": reference.pk, "name": "daily", "checks": {"uniqueness": {"columns": ["id"]}}}
    for role in ("viewer", "auditor"):
        assert api_as(role).post("/api/v1/monitoring/quality-suites/", body, format="json").status_code == 403
    r = api_as("steward").post("/api/v1/monitoring/quality-suites/", body, format="json")
    assert r.status_code == 201, r.content
    suite = r.json()
    assert suite["baseline_sha256"] and "baseline" not in suite  # the summary stays in the database
    bad = api_as("steward").post(
        "/api/v1/monitoring/quality-suites/", {**body, "name": "x", "checks": {"nope": 1}}, format="json"
    )
    assert bad.status_code == 400 and "error" in bad.json()

    frame(seed=3, nulls=0.3).to_parquet(path)
    assert api_as("viewer").post(f"/api/v1/monitoring/quality-suites/{suite['id']}/run").status_code == 403
    r = api_as("service").post(f"/api/v1/monitoring/quality-suites/{suite['id']}/run")
    assert r.status_code == 201 and r.json()["status"] == "succeeded" and r.json()["summary"]["failed"] == 1
    run_id = r.json()["id"]
    results = api_as("viewer").get("/api/v1/monitoring/quality-results/", {"run": run_id, "flagged": "true"}).json()
    rows = results["results"] if isinstance(results, dict) else results
    assert [(x["name"], x["check"], x["column"]) for x in rows] == [("null_share:income", "null_share", "income")]
    alerts = api_as("viewer").get("/api/v1/monitoring/quality-alerts/", {"asset": asset.pk, "state": "open"}).json()
    (alert,) = alerts["results"] if isinstance(alerts, dict) else alerts
    url = f"/api/v1/monitoring/quality-alerts/{alert['id']}/acknowledge"
    assert api_as("auditor").post(url, {"reason": "seen"}, format="json").status_code == 403
    assert api_as("steward").post(url, {"reason": ""}, format="json").status_code == 400
    r = api_as("steward").post(url, {"reason": "supplier re-sends tonight"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    r = api_as("steward").post(f"/api/v1/monitoring/quality-alerts/{alert['id']}/resolve", {"reason": "re-sent"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    r = api_as("steward").patch(f"/api/v1/monitoring/quality-suites/{suite['id']}/", {"schedule_minutes": 15}, format="json")
    assert r.status_code == 200 and r.json()["schedule_minutes"] == 15
    assert (
        api_as("viewer").patch(f"/api/v1/monitoring/quality-suites/{suite['id']}/", {"active": False}, format="json").status_code
        == 403
    )


def test_api_hides_a_restricted_assets_suite_from_a_service_and_a_viewer(api_as, users, assets):
    asset, _, _ = assets
    suite = _suite(users, assets)
    services.quality_suite_run(actor=users["steward"], suite=suite)
    type(asset).objects.filter(pk=asset.pk).update(sensitivity=Sensitivity.RESTRICTED)
    for role in ("service", "viewer"):
        client = api_as(role)
        assert client.get(f"/api/v1/monitoring/quality-suites/{suite.pk}/").status_code == 404
        assert client.post(f"/api/v1/monitoring/quality-suites/{suite.pk}/run").status_code in (403, 404)
        listed = client.get("/api/v1/monitoring/quality-runs/").json()
        assert (listed["results"] if isinstance(listed, dict) else listed) == []
    assert api_as("auditor").get(f"/api/v1/monitoring/quality-suites/{suite.pk}/").status_code == 200


def test_the_quality_suite_endpoints_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/quality-suites",
        "/quality-suites/{id}",
        "/quality-suites/{id}/run",
        "/quality-runs",
        "/quality-results",
        "/quality-alerts",
        "/quality-alerts/{id}/acknowledge",
        "/quality-alerts/{id}/resolve",
    ):
        full = f"/api/v1/monitoring{path}"
        assert full in paths or f"{full}/" in paths, path


# --- command, admin action, task: the same service -----------------------------------------------------


def test_the_command_runs_a_suite_as_its_user_and_refuses_what_that_user_may_not_do(users, assets):
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command

    suite = _suite(users, assets)
    out = StringIO()
    call_command("quality_suite_run", str(suite.pk), "--user", users["service"].username, "--json", stdout=out)
    (doc,) = json.loads(out.getvalue())["runs"]
    run = QualityRun.objects.get()
    assert doc["id"] == run.pk and doc["status"] == "succeeded" and len(doc["checks"]) == run.results.count()
    assert AuditEvent.objects.get(action="monitoring.quality_run_start").actor_id == str(users["service"].pk)
    with pytest.raises(CommandError, match="may not"):
        call_command("quality_suite_run", str(suite.pk), "--user", users["viewer"].username)
    with pytest.raises(CommandError, match="no such quality suite: 999"):
        call_command("quality_suite_run", "999", "--user", users["steward"].username)
    with pytest.raises(CommandError, match="need --user"):
        call_command("quality_suite_run", str(suite.pk))
    os.remove(assets[2])
    QualitySuite.objects.filter(pk=suite.pk).update(last_run_at=timezone.now() - timedelta(days=2))  # due again
    with pytest.raises(CommandError, match="1 run\\(s\\) failed"):
        call_command("quality_suite_run", "--due", stdout=StringIO())
    assert QualityRun.objects.order_by("-pk").first().trigger == "schedule"


def test_the_admin_action_runs_the_suite_with_the_reason_and_acknowledges_alerts(users, assets):
    from django.test import Client

    asset, _, path = assets
    suite = _suite(users, assets)
    client = Client()
    client.force_login(users["steward"])
    r = client.post(
        "/admin/monitoring/qualitysuite/",
        {"action": "run_now", "_selected_action": [suite.pk], "apply": "1", "reason": "after the supplier's fix"},
        follow=True,
    )
    assert r.status_code == 200 and "1 changed" in r.content.decode()
    start = AuditEvent.objects.get(action="monitoring.quality_run_start")
    assert start.reason == "after the supplier's fix" and start.actor_id == str(users["steward"].pk)
    frame(seed=3, nulls=0.3).to_parquet(path)
    services.quality_suite_run(actor=users["service"], suite=suite)
    alert = QualityAlert.objects.get()
    r = client.post(
        "/admin/monitoring/qualityalert/",
        {"action": "acknowledge", "_selected_action": [alert.pk], "apply": "1", "reason": "known"},
        follow=True,
    )
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledge_reason == "known"
    viewer = Client()
    viewer.force_login(users["auditor"])
    r = viewer.post(
        "/admin/monitoring/qualityalert/",
        {"action": "resolve", "_selected_action": [alert.pk], "apply": "1", "reason": "x"},
        follow=True,
    )
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and "may not" in r.content.decode()


def test_the_task_runs_the_suite_as_the_system_or_a_user(users, assets):
    suite = _suite(users, assets)
    assert tasks.quality_suite_run(suite.pk) == QualityRun.objects.get().pk
    assert tasks.quality_suite_run(suite.pk, users["steward"].pk, "manual") == QualityRun.objects.order_by("-pk").first().pk
    assert list(
        AuditEvent.objects.filter(action="monitoring.quality_run_start").order_by("pk").values_list("actor_id", flat=True)
    ) == [
        tasks.SYSTEM_ACTOR,
        str(users["steward"].pk),
    ]


def test_metrics_expose_each_suites_latest_checks_and_alerts(users, assets, settings):
    from django.test import Client
    from prometheus_client.parser import text_string_to_metric_families

    asset, _, path = assets
    suite = _suite(users, assets)
    services.quality_suite_run(actor=users["service"], suite=suite)
    frame(seed=3, nulls=0.3).to_parquet(path)
    latest = services.quality_suite_run(actor=users["service"], suite=suite)
    settings.CUSTOS_METRICS_TOKEN = "t"
    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    base = {"asset": asset.qualified_name, "suite": "daily"}
    scores = {(s.labels["check"], s.labels["column"]): s for s in fams["custos_asset_quality_score"].samples}
    expected = {(r.check_name, r.column): r.score for r in latest.results.exclude(score=None)}
    assert {k: s.value for k, s in scores.items()} == expected
    assert all(s.labels == {**base, "check": k[0], "column": k[1]} for k, s in scores.items())
    failed = {(s.labels["check"], s.labels["column"]): s.value for s in fams["custos_asset_quality_failed"].samples}
    assert failed[("null_share", "income")] == 1.0 and failed[("row_count", "")] == 0.0
    alerts = {s.labels["state"]: s.value for s in fams["custos_asset_quality_alerts"].samples}
    assert alerts == {"open": 1.0, "acknowledged": 0.0, "resolved": 0.0}
    (last,) = fams["custos_asset_quality_last_run_timestamp_seconds"].samples
    assert last.value == latest.finished_at.timestamp()
    assert "r3-" not in body  # no row ids


# --- pages ---------------------------------------------------------------------------------------------


def _client(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_the_asset_page_quality_tab_shows_the_suites_checks_and_alerts_with_forms_for_change_roles(users, assets):
    from django.urls import reverse

    asset, reference, path = assets
    suite = _suite(users, assets)
    frame(seed=3, nulls=0.3).to_parquet(path)
    run = services.quality_suite_run(actor=users["service"], suite=suite)
    alert = QualityAlert.objects.get()
    url = reverse("catalog:asset", args=[asset.pk])
    body = _client(users["steward"]).get(url).content.decode()
    assert 'id="panel-quality"' in body and "Data-quality suites of this asset" in body
    assert f"Run {run.pk} (manual)" in body and "1 of" in body and "null_share:income" in body
    assert reverse("models:quality_alert_acknowledge", args=[alert.pk]) in body
    assert reverse("models:quality_alert_resolve", args=[alert.pk]) in body
    assert reference.qualified_name in body
    viewer = _client(users["viewer"]).get(url).content.decode()
    assert "null_share:income" in viewer and reverse("models:quality_alert_acknowledge", args=[alert.pk]) not in viewer
    other = AssetFactory()
    assert 'id="panel-quality"' not in _client(users["steward"]).get(reverse("catalog:asset", args=[other.pk])).content.decode()

    r = _client(users["steward"]).post(reverse("models:quality_alert_acknowledge", args=[alert.pk]), {"reason": ""}, follow=True)
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and "Not acknowledged" in r.content.decode()
    r = _client(users["viewer"]).post(reverse("models:quality_alert_acknowledge", args=[alert.pk]), {"reason": "x"}, follow=True)
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and "Not acknowledged" in r.content.decode()
    r = _client(users["steward"]).post(reverse("models:quality_alert_acknowledge", args=[alert.pk]), {"reason": "looking"})
    assert r.status_code == 302 and r["Location"] == url + "#panel-quality"
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledge_reason == "looking"
    _client(users["steward"]).post(reverse("models:quality_alert_resolve", args=[alert.pk]), {"reason": "fixed upstream"})
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolve_reason == "fixed upstream"
    assert AuditEvent.objects.filter(action="monitoring.quality_alert_resolve", reason="fixed upstream").exists()


def test_a_restricted_assets_quality_alert_is_404_to_act_on_for_a_service(users, assets):
    from django.urls import reverse

    asset, _, path = assets
    suite = _suite(users, assets)
    frame(seed=3, nulls=0.3).to_parquet(path)
    services.quality_suite_run(actor=users["service"], suite=suite)
    type(asset).objects.filter(pk=asset.pk).update(sensitivity=Sensitivity.RESTRICTED)
    alert = QualityAlert.objects.get()
    r = _client(users["service"]).post(reverse("models:quality_alert_resolve", args=[alert.pk]), {"reason": "x"})
    assert r.status_code == 404
    # the service itself refuses the same, for any caller (command, task, a future view)
    for act in (services.quality_alert_acknowledge, services.quality_alert_resolve):
        with pytest.raises(ValidationError, match="no such asset"):
            act(actor=users["service"], alert=alert, reason="x")
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_the_version_page_resolves_a_monitor_alert_with_a_reason(users, roots):
    from django.urls import reverse

    from monitoring.models import Alert
    from tests.monitoring.test_pages import build_monitored_model

    monitored = build_monitored_model(users, roots)
    alert = Alert.objects.filter(monitor__model_version=monitored.version).exclude(state=AlertState.RESOLVED).first()
    page = reverse("models:version", args=[monitored.version.pk])
    body = _client(users["steward"]).get(page).content.decode()
    assert reverse("models:alert_resolve", args=[alert.pk]) in body
    assert reverse("models:alert_resolve", args=[alert.pk]) not in _client(users["auditor"]).get(page).content.decode()
    r = _client(users["auditor"]).post(reverse("models:alert_resolve", args=[alert.pk]), {"reason": "x"}, follow=True)
    alert.refresh_from_db()
    assert alert.state != AlertState.RESOLVED and "Not resolved" in r.content.decode()
    r = _client(users["steward"]).post(reverse("models:alert_resolve", args=[alert.pk]), {"reason": "retrained, v2 deployed"})
    assert r.status_code == 302 and r["Location"] == page
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolve_reason == "retrained, v2 deployed"
    event = AuditEvent.objects.get(action="monitoring.alert_resolve", target_id=str(alert.pk))
    assert event.reason == "retrained, v2 deployed" and event.details["automatic"] is False


def test_the_quality_tabs_queries_do_not_grow_with_suites(users, assets, rf):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring import panels

    asset, reference, _ = assets
    request = rf.get("/")
    request.user = users["steward"]

    def count():
        with CaptureQueriesContext(connection) as ctx:
            panels.asset_quality(request, asset)
        return len(ctx.captured_queries)

    first = services.quality_suite_create(actor=users["steward"], asset=asset, name="s0", reference_asset=reference)
    services.quality_suite_run(actor=users["steward"], suite=first)
    one = count()
    for i in range(1, 4):
        s = services.quality_suite_create(actor=users["steward"], asset=asset, name=f"s{i}", reference_asset=reference)
        services.quality_suite_run(actor=users["steward"], suite=s)
    assert count() == one


# --- evidence ------------------------------------------------------------------------------------------


def test_the_evidence_bundle_carries_suites_runs_checks_and_alerts_as_of_its_date(users, assets, ledger_key):  # noqa: F811
    import csv
    import io
    import json
    import zipfile

    from compliance.evidence import services as evidence
    from monitoring.evidence import quality_evidence

    asset, _, path = assets
    suite = _suite(users, assets)
    frame(seed=3, nulls=0.3, new_city=True).to_parquet(path)
    run = services.quality_suite_run(actor=users["service"], suite=suite)
    alert = QualityAlert.objects.get(subject="null_share:income")
    before_ack = timezone.now()
    services.quality_alert_acknowledge(actor=users["steward"], alert=alert, reason="supplier notified")

    doc = quality_evidence(at=timezone.now())
    (q,) = doc["suites"]
    assert q["asset"] == asset.qualified_name and q["baseline_sha256"] == suite.baseline_sha256
    (r,) = q["runs"]
    assert r["id"] == run.pk and r["current_sha256"] == run.current_sha256 and r["library_versions"]
    assert {c["name"] for c in r["results"] if c["flagged"]} == {"null_share:income", "new_categories:city"}
    assert [e["action"] for e in r["events"]] == ["monitoring.quality_run_start", "monitoring.quality_run_finish"]
    states = {a["subject"]: (a["state"], a["acknowledge_reason"]) for a in q["alerts"]}
    assert states["null_share:income"] == ("acknowledged", "supplier notified")
    earlier = {a["subject"]: a["state"] for a in quality_evidence(at=before_ack)["suites"][0]["alerts"]}
    assert earlier["null_share:income"] == "open"  # as of before the acknowledgement
    assert quality_evidence(at=timezone.now(), asset_ids=[AssetFactory().pk])["suites"] == []
    assert "kyiv" not in json.dumps(doc)

    export = evidence.export_request(actor=users["auditor"], run_async=False)
    export = evidence.export_build(export_id=export.pk)
    assert export.status == "succeeded", export.error
    with zipfile.ZipFile(export.file_path) as z:
        listed = {f["path"] for f in json.loads(z.read("manifest.json"))["files"]}
        assert {"evidence/quality_suites.json", "evidence/quality_results.csv", "evidence/quality_alerts.csv"} <= listed
        rows = list(csv.DictReader(io.StringIO(z.read("evidence/quality_results.csv").decode())))
        assert {x["name"] for x in rows if x["flagged"] == "True"} == {"null_share:income", "new_categories:city"}
        report = z.read("report.html").decode()
        assert "Data-quality suites of assets" in report and "null_share:income" in report
        assert all("kyiv" not in z.read(n).decode() for n in listed if n.startswith("evidence/quality"))
