"""Model and model-version pages (monitoring/views.py) on the Django test client: what each role
sees, scoping as the API (a version trained on a restricted asset is 404 for a viewer), the
acknowledge form through the alert service, the page panels, and bounded query counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from catalog.models import DataAsset, ModelVersion
from core import pages
from monitoring import services
from monitoring.choices import AlertState
from monitoring.explain import services as explain_services
from monitoring.models import Alert, Monitor
from tests.factories import AssetFactory, MLModelFactory, ModelVersionFactory
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db


@dataclass
class Monitored:
    reference: DataAsset
    version: ModelVersion
    monitor: Monitor
    hidden: ModelVersion


def build_monitored_model(users, roots, *, runs: int = 2) -> Monitored:
    """A production model version evaluated on a cataloged reference, watched by one monitor with
    ``runs`` runs (the last one on shifted data, so drift and quality alerts are open), a fairness
    assessment, and a second version of the same model trained on a restricted asset."""
    path = roots / "churn_reference.parquet"
    make_frame(3000, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(path)
    reference = AssetFactory(location=str(path), qualified_name="files.churn_reference", name="churn_reference")
    model = MLModelFactory(name="churn-risk", owner=users["steward"], description="Who is likely to cancel next month.")
    version = ModelVersionFactory(
        model=model,
        version="2.1.0",
        stage="production",
        algorithm="GradientBoostingClassifier",
        framework="scikit-learn 1.7",
        intended_use="Prioritise retention calls.",
        metrics={"roc_auc": 0.81},
    )
    version.evaluation_datasets.add(reference)
    monitor = services.monitor_create(
        actor=users["steward"],
        model_version=version,
        name="production inputs",
        reference_asset=reference,
        columns=["age", "income", "region"],
    )
    for i in range(runs):
        shift = 0.6 if i == runs - 1 else 0.0
        services.batch_log(actor=users["service"], model_version=version, rows=make_frame(1500, seed=10 + i, shift=shift))
        services.monitor_run(actor=users["service"], monitor=monitor)
    decisions = roots / "churn_decisions.parquet"
    make_frame(1200, seed=5, label=True).to_parquet(decisions)
    explain_services.fairness_assess(
        actor=users["steward"],
        location=str(decisions),
        prediction="prediction",
        group=["region"],
        label="label",
        model_version=version,
    )
    # a small forest as a skops artifact, with one explained decision and a global explanation
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    features = ["age", "income", "score"]
    train = make_frame(600, seed=7, label=True)
    forest = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(train[features], train["label"])
    artifact = explain_services.artifact_upload(actor=users["steward"], model_version=version, data=sio.dumps(forest))
    explain_services.explanation_create(actor=users["steward"], artifact=artifact, rows=train[features].head(1))
    explain_services.explanation_global_create(
        actor=users["steward"], artifact=artifact, location=str(decisions), label="label", features=features, n_repeats=2
    )
    secret = AssetFactory(qualified_name="files.secret_training", sensitivity="restricted")
    hidden = ModelVersionFactory(model=model, version="3.0.0-rc1", stage="staging")
    hidden.training_datasets.add(secret)
    return Monitored(reference, version, monitor, hidden)


@pytest.fixture
def monitored(users, roots):
    return build_monitored_model(users, roots)


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_links_every_model_and_counts_open_alerts(users, monitored):
    body = client_as(users["viewer"]).get(reverse("models:list")).content.decode()
    assert f'href="{reverse("models:model", args=[monitored.version.model_id])}"' in body
    open_alerts = Alert.objects.exclude(state=AlertState.RESOLVED).count()
    assert open_alerts > 0 and f"{open_alerts} unresolved" in body
    assert 'href="/models/"' in client_as(users["viewer"]).get("/").content.decode()  # header link "Models"


def test_the_model_page_lists_versions_by_stage_and_hides_a_restricted_one_from_a_viewer(users, monitored):
    url = reverse("models:model", args=[monitored.version.model_id])
    steward = client_as(users["steward"]).get(url).content.decode()
    viewer = client_as(users["viewer"]).get(url).content.decode()
    assert "3.0.0-rc1" in steward and "Staging" in steward and "Production" in steward
    assert "3.0.0-rc1" not in viewer and "2.1.0" in viewer
    assert users["steward"].username in viewer  # the owner


def test_a_version_trained_on_a_restricted_asset_is_404_for_a_viewer_and_readable_for_an_auditor(users, monitored):
    url = reverse("models:version", args=[monitored.hidden.pk])
    assert client_as(users["viewer"]).get(url).status_code == 404
    assert client_as(users["service"]).get(url).status_code == 404
    assert client_as(users["auditor"]).get(url).status_code == 200


def test_the_version_page_shows_card_data_monitoring_plots_alerts_and_fairness(users, monitored):
    body = client_as(users["auditor"]).get(reverse("models:version", args=[monitored.version.pk])).content.decode()
    assert "Prioritise retention calls." in body and "GradientBoostingClassifier" in body
    assert f'href="{reverse("catalog:asset", args=[monitored.reference.pk])}"' in body  # evaluation data
    assert f"/api/v1/monitoring/monitors/{monitored.monitor.pk}/plot?kind=dataset_drift&amp;name=dataset" in body
    assert f"/api/v1/monitoring/monitors/{monitored.monitor.pk}/distribution?feature=" in body
    alert = Alert.objects.filter(monitor=monitored.monitor, state=AlertState.OPEN).first()
    assert escape(alert.message) in body
    assert "By region" in body and "Four-fifths screen" in body
    assert "What drives the model (permutation importance" in body and "treeshap-path-dependent" in body
    assert "Acknowledge</button>" not in body  # an auditor may not change alerts
    assert "may read alerts but not acknowledge" in body


def test_the_plots_the_page_points_at_answer_svg_for_the_same_user(users, monitored):
    client = client_as(users["viewer"])
    body = client.get(reverse("models:version", args=[monitored.version.pk])).content.decode()
    srcs = [s.replace("&amp;", "&") for s in re.findall(r'<img src="([^"]+)"', body)]
    assert srcs
    for src in srcs:
        response = client.get(src)
        assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml", src


def test_a_steward_acknowledges_an_alert_with_a_reason_through_the_service(users, monitored):
    alert = Alert.objects.filter(monitor=monitored.monitor, state=AlertState.OPEN).first()
    client = client_as(users["steward"])
    url = reverse("models:alert_acknowledge", args=[alert.pk])
    response = client.post(url, {"reason": "  "}, follow=True)
    assert "a reason is required" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    response = client.post(url, {"reason": "seasonal campaign, expected"}, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/models/versions/{monitored.version.pk}/")
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == users["steward"]
    event = AuditEvent.objects.filter(action="monitoring.alert_acknowledge", target_id=str(alert.pk)).get()
    assert event.reason == "seasonal campaign, expected" and event.actor_id == str(users["steward"].pk)
    assert "seasonal campaign, expected" in response.content.decode()


def test_a_viewer_or_auditor_posting_the_form_gets_a_message_not_a_change(users, monitored):
    alert = Alert.objects.filter(monitor=monitored.monitor, state=AlertState.OPEN).first()
    for role in ("viewer", "auditor"):
        response = client_as(users[role]).post(reverse("models:alert_acknowledge", args=[alert.pk]), {"reason": "x"}, follow=True)
        assert response.status_code == 200 and "Not acknowledged" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    assert client_as(users["steward"]).get(reverse("models:alert_acknowledge", args=[alert.pk])).status_code == 405
    assert Client().post(reverse("models:alert_acknowledge", args=[alert.pk]), {"reason": "x"}).status_code == 302  # login


def test_an_alert_of_a_hidden_version_is_404_to_acknowledge(users, monitored, roots):
    secret = DataAsset.objects.get(qualified_name="files.secret_training")
    path = roots / "secret.parquet"
    make_frame(3000, seed=1).drop(columns=["prediction_id"]).to_parquet(path)
    DataAsset.objects.filter(pk=secret.pk).update(location=str(path))
    secret.refresh_from_db()
    monitor = services.monitor_create(
        actor=users["steward"], model_version=monitored.hidden, name="m", reference_asset=secret, columns=["age"]
    )
    services.batch_log(actor=users["steward"], model_version=monitored.hidden, rows=make_frame(1500, seed=3, shift=0.8))
    run = services.monitor_run(actor=users["steward"], monitor=monitor)
    alert = Alert.objects.filter(monitor=monitor).first()
    assert alert is not None, (run.status, run.error)
    assert (
        client_as(users["service"]).post(reverse("models:alert_acknowledge", args=[alert.pk]), {"reason": "x"}).status_code == 404
    )


def test_the_asset_panel_shows_quality_and_drift_of_monitors_on_the_asset(users, monitored, rf):
    request = rf.get("/")
    request.user = users["viewer"]
    (panel,) = [p for p in pages.panels_for("asset", request, monitored.reference) if p["key"] == "quality"]
    (row,) = panel["context"]["monitors"]
    assert row["quality"] and {r.name for r in row["drift"]} >= {"age", "income", "region", "dataset"}
    other = AssetFactory()
    assert all(p["key"] != "quality" for p in pages.panels_for("asset", request, other))
    from django.template.loader import render_to_string

    html = render_to_string(panel["template"], {"panel": panel, "obj": monitored.reference})
    assert "production inputs" in html and "null_share" in html


def test_the_dashboard_panel_lists_models_with_open_alerts_scoped(users, monitored, rf):
    request = rf.get("/")
    request.user = users["viewer"]
    (panel,) = [p for p in pages.panels_for("dashboard", request, None) if p["key"] == "models_alerts"]
    (row,) = panel["context"]["rows"]
    assert row["id"] == monitored.version.pk and row["open"] > 0


def test_query_counts_are_bounded(users, monitored, django_assert_max_num_queries, roots):
    client = client_as(users["steward"])
    # more models, versions and runs must not add queries per row
    for i in range(5):
        extra = ModelVersionFactory(model=MLModelFactory(name=f"extra-{i}"), stage="production")
        extra.evaluation_datasets.add(monitored.reference)
    services.batch_log(actor=users["service"], model_version=monitored.version, rows=make_frame(800, seed=99))
    services.monitor_run(actor=users["service"], monitor=monitored.monitor)
    client.get(reverse("models:list"))  # warm the session/user caches
    with django_assert_max_num_queries(8):
        assert client.get(reverse("models:list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("models:model", args=[monitored.version.model_id])).status_code == 200
    with django_assert_max_num_queries(36):  # 35 + the fairness findings (one query, whatever their number)
        assert client.get(reverse("models:version", args=[monitored.version.pk])).status_code == 200


def test_a_not_checked_result_reads_not_checked_with_its_reason_not_ok(users, monitored, rf):
    """A check that could not be computed (score null, not flagged) must not read "ok" anywhere."""
    from django.template.loader import render_to_string

    from monitoring.models import MonitorResult

    run = monitored.monitor.runs.order_by("-pk").first()
    row = MonitorResult.objects.filter(run=run, kind="quality", flagged=False).first()
    MonitorResult.objects.filter(pk=row.pk).update(
        score=None, threshold_source="not checked: no time column", details={"not_checked": "no time column"}
    )
    page = client_as(users["auditor"]).get(reverse("models:version", args=[monitored.version.pk])).content.decode()
    cells = re.findall(rf"<td>{re.escape(row.name)}</td>.*?</tr>", page)
    assert cells and all("not checked" in c and ">ok<" not in c for c in cells), cells
    request = rf.get("/")
    request.user = users["viewer"]
    (panel,) = [p for p in pages.panels_for("asset", request, monitored.reference) if p["key"] == "quality"]
    html = render_to_string(panel["template"], {"panel": panel, "obj": monitored.reference})
    (cell,) = re.findall(rf"<tr><td>{re.escape(row.name)}</td><td>data quality</td>.*?</tr>", html)
    assert "not checked" in cell and "(no time column)" in cell and ">ok<" not in cell


def test_the_version_page_lists_fairness_findings_open_first_with_their_alert(users, monitored, roots):
    """A production fairness check that fails the four-fifths screen opens a finding and an alert on
    the version's monitor; the page lists the finding (check, attribute, severity, status, message,
    citation) and links its alert; a passing check later resolves it and the page says so."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    g = np.where(rng.random(1000) < 0.5, "a", "b")
    unfair = np.where(g == "a", rng.random(1000) < 0.6, rng.random(1000) < 0.3).astype(int)
    frame = pd.DataFrame({"prediction_id": [f"f-{i}" for i in range(1000)], "grp": g, "prediction": unfair})
    unfair_batch = services.batch_log(actor=users["service"], model_version=monitored.version, rows=frame)
    explain_services.fairness_check_production(
        actor=users["steward"], model_version=monitored.version, group=["grp"], batch_ids=[unfair_batch.pk]
    )
    url = reverse("models:version", args=[monitored.version.pk])
    body = client_as(users["auditor"]).get(url).content.decode()
    assert "Findings (1)" in body and "<code>four_fifths</code>" in body
    row = body[body.index("<code>four_fifths</code>") :].split("</tr>")[0]
    assert "<td>grp</td>" in row and "Open" in row and "EEOC" in row
    alert = Alert.objects.get(monitor=monitored.monitor, kind="fairness")
    assert f'href="#alert-{alert.pk}"' in row and f'id="alert-{alert.pk}"' in body
    assert "from production batches" in body  # where the assessed decisions came from

    fair = pd.DataFrame({"prediction_id": [f"p-{i}" for i in range(1000)], "grp": g, "prediction": rng.random(1000) < 0.4})
    batch = services.batch_log(actor=users["service"], model_version=monitored.version, rows=fair.astype({"prediction": int}))
    explain_services.fairness_check_production(
        actor=users["steward"], model_version=monitored.version, group=["grp"], batch_ids=[batch.pk]
    )
    row = client_as(users["auditor"]).get(url).content.decode().split("<code>four_fifths</code>")[1].split("</tr>")[0]
    assert "Resolved" in row
