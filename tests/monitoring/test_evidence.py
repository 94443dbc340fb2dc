"""The monitoring evidence section as of a date: runs and alerts as they stood, with their audit events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.evidence import monitoring_evidence
from monitoring.models import Alert
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db


def test_the_section_shows_alerts_as_they_stood_and_cites_their_events(users, version, reference_asset):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, columns=["age"]
    )
    services.batch_log(actor=users["service"], model_version=version, rows=make_frame(1500, seed=41, shift=0.6))
    run = services.monitor_run(actor=users["service"], monitor=monitor)
    alert = Alert.objects.get(monitor=monitor, subject="age")
    before_ack = timezone.now()
    Alert.objects.filter(pk=alert.pk).update(opened_at=before_ack - timedelta(seconds=5))
    services.alert_acknowledge(actor=users["steward"], alert=alert, reason="known promotion")

    then = monitoring_evidence(at=before_ack)
    (m,) = then["monitors"]
    (a,) = [x for x in m["alerts"] if x["subject"] == "age"]
    assert a["state"] == "open" and a["acknowledge_reason"] == ""
    assert [r["id"] for r in m["runs"]] == [run.pk]
    r = m["runs"][0]
    assert r["current_sha256"] == run.current_sha256 and len(r["reference_sha256"]) == 64 and "scipy" in r["library_versions"]
    assert {"monitoring.run_start", "monitoring.run_finish"} <= {e["action"] for e in r["events"]}
    assert {x["name"] for x in r["results"] if x["kind"] == "drift"} == {"age"}

    now = monitoring_evidence(at=timezone.now())
    (a,) = [x for x in now["monitors"][0]["alerts"] if x["subject"] == "age"]
    assert a["state"] == "acknowledged" and a["acknowledge_reason"] == "known promotion"
    assert [e["action"] for e in a["events"]][-1] == "monitoring.alert_acknowledge"
    assert monitoring_evidence(at=timezone.now(), model_version_ids=[version.pk + 1000])["monitors"] == []
