"""SVG plots: over runs and reference vs current, served by the API (parsed as XML, counted by hand)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitoring import plots, services
from tests.monitoring.conftest import make_frame

SVG = "{http://www.w3.org/2000/svg}"
BASE = "/api/v1/monitoring"


def test_over_time_draws_one_point_per_run_flagged_ones_red_and_the_threshold():
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    svg = plots.over_time_svg(
        "age <x>",
        [t0 + timedelta(hours=i) for i in range(4)],
        [0.05, 0.08, 0.2, 0.3],
        flagged=[False, False, True, True],
        threshold=0.1,
    )
    root = ET.fromstring(svg)
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 4 and [d.get("fill") for d in dots].count(plots.FLAG_COLOUR) == 2
    assert root.find(f"{SVG}title").text == "age <x>"  # escaped in the markup, parsed back
    assert any("threshold 0.1" in (t.text or "") for t in root.findall(f"{SVG}text"))
    ys = [float(d.get("cy")) for d in dots]
    assert ys == sorted(ys, reverse=True)  # larger scores higher up


def test_histograms_share_bins_and_sum_to_one():
    rng = np.random.default_rng(0)
    edges, r, c = plots.numeric_histograms(rng.normal(0, 1, 1000), None, rng.normal(1, 1, 800), None, bins=10)
    assert len(edges) == 11 and r.sum() == pytest.approx(1) and c.sum() == pytest.approx(1)
    assert np.argmax(c) > np.argmax(r)


@pytest.mark.django_db
def test_the_api_serves_both_plots_for_a_monitor(api_as, users, version, reference_asset):
    monitor = services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, columns=["age", "region"]
    )
    for seed, shift in ((51, 0.0), (52, 0.6)):
        services.batch_log(actor=users["service"], model_version=version, rows=make_frame(1200, seed=seed, shift=shift))
        services.monitor_run(actor=users["service"], monitor=monitor)
    r = api_as("viewer").get(f"{BASE}/monitors/{monitor.pk}/plot", {"name": "age"})
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    dots = ET.fromstring(r.content).findall(f"{SVG}circle")
    assert [d.get("fill") for d in dots] == [plots.REF_COLOUR, plots.FLAG_COLOUR]
    r = api_as("viewer").get(f"{BASE}/monitors/{monitor.pk}/distribution", {"feature": "region"})
    bars = ET.fromstring(r.content).findall(f"{SVG}rect")
    assert r.status_code == 200 and len(bars) == 2 * 3  # three regions, reference and current
    assert api_as("viewer").get(f"{BASE}/monitors/{monitor.pk}/distribution", {"feature": "nope"}).status_code == 404
    assert api_as("viewer").get(f"{BASE}/monitors/{monitor.pk}/plot", {"name": "age", "kind": "x"}).status_code == 400
