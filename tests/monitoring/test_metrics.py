"""GET /metrics: closed unless a token or an allow-list is set; the families carry the database's latest
results (parsed back with prometheus-client's own parser)."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from monitoring import services
from monitoring.choices import ResultKind
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db
FEATURES = ["age", "income", "region", "score"]


@pytest.fixture
def ran(users, version, reference_asset):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="inputs", reference_asset=reference_asset, columns=FEATURES
    )
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(1500, seed=3, shift=0.6))
    return services.monitor_run(actor=users["service"], monitor=monitor)


def _families(body: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_it_is_closed_without_a_token_or_allow_list(settings, ran):
    settings.CUSTOS_METRICS_TOKEN = ""
    settings.CUSTOS_METRICS_ALLOW = ""
    assert Client().get("/metrics").status_code == 404
    settings.CUSTOS_METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    settings.CUSTOS_METRICS_TOKEN = ""
    settings.CUSTOS_METRICS_ALLOW = "10.0.0.0/8, 192.0.2.7"
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


def test_it_exposes_the_latest_results_from_the_database(settings, ran):
    settings.CUSTOS_METRICS_TOKEN = "t"
    r = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t")
    assert r["Content-Type"].startswith("text/plain")
    fams = _families(r.content)
    version = ran.monitor.model_version
    base = {"model": version.model.name, "model_version": version.version, "monitor": "inputs"}
    scores = {s.labels["feature"]: s for s in fams["custos_drift_score"].samples}
    for res in ran.results.filter(kind=ResultKind.DRIFT):
        sample = scores[res.name]
        assert sample.value == res.score and sample.labels == {**base, "feature": res.name, "method": res.method}
    detected = {s.labels["feature"]: s.value for s in fams["custos_drift_detected"].samples}
    assert detected["age"] == 1.0
    share = fams["custos_dataset_drift_share"].samples[0]
    assert share.value == ran.share_drifted and 0 <= share.value <= 1
    alerts = {s.labels["state"]: s.value for s in fams["custos_alerts"].samples}
    assert alerts["open"] == ran.monitor.alerts.filter(state="open").count() > 0 and alerts["resolved"] == 0
    assert {s.labels["check"] for s in fams["custos_data_quality_score"].samples} >= {"null_share", "row_count"}
    runs = {s.labels["status"]: s.value for s in fams["custos_monitor_runs"].samples}
    assert runs["succeeded"] == 1
    text = r.content.decode()
    assert "prediction_id=" not in text and "p3-" not in text  # no prediction ids as labels or values


def test_it_reports_the_redis_brokers_queue_or_that_it_is_down(settings):
    import redis

    settings.CUSTOS_METRICS_TOKEN = "t"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    fams = _families(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content)
    assert fams["custos_celery_broker_up"].samples[0].value == 0.0 and "custos_celery_queue_length" not in fams
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/12"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=0.5)
    try:
        client.delete("celery")
        client.rpush("celery", "a", "b", "c")
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (the PostgreSQL pass has one)")
    try:
        fams = _families(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content)
        assert fams["custos_celery_broker_up"].samples[0].value == 1.0
        assert {s.labels["queue"]: s.value for s in fams["custos_celery_queue_length"].samples} == {"celery": 3.0}
    finally:
        client.delete("celery")
    settings.CELERY_BROKER_URL = "memory://"
    assert "custos_celery_broker_up" not in _families(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content)


def test_it_counts_http_requests_by_view_and_database_queries_without_paths_or_query_strings(settings, users):
    settings.CUSTOS_METRICS_TOKEN = "t"
    client = Client()
    client.force_login(users["viewer"])
    client.get("/api/v1/search", {"q": "jane.doe.secret@example.org"})
    client.get("/api/v1/assets/")
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    fams = _families(text.encode())
    by_view = {s.labels.get("view") for s in fams["custos_django_http_requests_latency_seconds_by_view_method"].samples}
    assert {"api-search", "asset-list"} & by_view, by_view
    statuses = {s.labels.get("status") for s in fams["custos_django_http_responses_total_by_status"].samples}
    assert "200" in statuses
    executed = [s for s in fams["custos_django_db_execute"].samples if s.name.endswith("_total")]
    assert executed and sum(s.value for s in executed) > 0
    assert "jane.doe.secret" not in text and "/api/v1/" not in text  # view names only, never paths or queries
