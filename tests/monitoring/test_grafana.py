"""The Grafana dashboard (docs/grafana/custos-monitoring.json) only queries families /metrics
exposes, with labels those families carry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from monitoring import services
from tests.monitoring.conftest import make_frame

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "custos-monitoring.json"


@pytest.mark.django_db
def test_every_dashboard_query_names_an_exposed_family_and_its_labels(settings, users, version, reference_asset):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, columns=["age", "region"]
    )
    frame = make_frame(1200, seed=31, shift=0.6, label=True)
    services.batch_log(actor=users["service"], model_version=version, rows=frame.drop(columns=["label"]))
    services.batch_log(actor=users["service"], model_version=version, rows=frame[["prediction_id", "label"]], kind="labels")
    services.monitor_run(actor=users["service"], monitor=monitor)
    # a per-asset quality suite whose run fails a check and opens an alert (the custos_asset_quality_* panels)
    suite = services.quality_suite_create(
        actor=users["steward"], asset=reference_asset, name="daily", checks={"row_count": {"min": 10**9}}
    )
    services.quality_suite_run(actor=users["steward"], suite=suite)
    settings.CUSTOS_METRICS_TOKEN = "t"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    labels = {f.name: set().union(*(s.labels for s in f.samples)) for f in text_string_to_metric_families(body) if f.samples}
    labels.setdefault("custos_celery_queue_length", {"queue"})  # present when the broker is Redis
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dash["templating"]["list"]]
    assert any("custos_asset_quality_" in e for e in exprs)  # the per-asset quality panels
    for expr in exprs:
        for name in re.findall(r"custos_\w+", expr):
            assert name in labels, (name, expr)
            for selector in re.findall(name + r"\{([^}]*)\}", expr):
                for label in re.findall(r"(\w+)\s*=~?", selector):
                    assert label in labels[name], (label, name)
