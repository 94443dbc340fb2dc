"""The lineage explorer on a hub: a table read by 60 jobs. The server draws the first 15
neighbours per node and direction and counts the rest, the page shows them behind an "N more"
box that loads the next 30, and asset-level edges carry the transformations of the column lineage
through their job. The graph endpoint's paging is checked without a browser too."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from catalog.models import DataAsset
from tests.e2e.accessibility import assert_accessible
from tests.e2e.test_lineage_explorer import GEOMETRY_JS, drawing_problems, wait_ready

HUB_READERS = 60


@pytest.fixture
def hub(make_user):
    """raw.hub read by jobs j00..j59, each writing out.tNN whose email derives from the hub's
    (every third one masked, every fifth one an INDIRECT filter on id as well)."""
    from lineage.openlineage import event_ingest
    from tests.lineage.helpers import dataset, run_event

    service = make_user("service")
    for i in range(HUB_READERS):
        masked = i % 3 == 0
        out = dataset(
            f"out.t{i:02d}",
            columns=["id", "email"],
            lineage={"email": [("raw.hub", "email", masked, "HASH" if masked else "IDENTITY")]},
            wide=[("raw.hub", "id", "FILTER")] if i % 5 == 0 else None,
        )
        event_ingest(payload=run_event(f"j{i:02d}", [dataset("raw.hub", columns=["id", "email"])], [out]), actor=service)
    return DataAsset.objects.get(qualified_name="raw.hub")


@pytest.mark.django_db
def test_the_graph_endpoint_pages_a_hubs_neighbours(hub, client, make_user):
    client.force_login(make_user("steward"))
    url = reverse("lineage:explorer_graph")
    first = client.get(url, {"node": f"asset:{hub.pk}", "direction": "downstream", "depth": 2}).json()
    root = next(n for n in first["nodes"] if n["id"] == f"asset:{hub.pk}")
    jobs = [n for n in first["nodes"] if n["type"] == "job"]
    assert len(jobs) == 15 and (root["hidden_downstream"], root["next_downstream"]) == (45, 15)
    assert root["more_downstream"] is False  # its hop is loaded; what is left out is counted instead
    assert len([n for n in first["nodes"] if n["type"] == "asset"]) == 1 + 15  # each drawn job's output
    assert all(n["hidden_downstream"] == 0 for n in jobs)
    page = client.get(url, {"node": f"asset:{hub.pk}", "direction": "downstream", "depth": 1, "offset": 15, "limit": 30}).json()
    names = sorted(n["name"] for n in page["nodes"] if n["type"] == "job")
    assert names == [f"j{i:02d}" for i in range(15, 45)]
    root = next(n for n in page["nodes"] if n["id"] == f"asset:{hub.pk}")
    assert (root["hidden_downstream"], root["next_downstream"]) == (15, 45)
    last = client.get(url, {"node": f"asset:{hub.pk}", "direction": "downstream", "depth": 1, "offset": 45, "limit": 30}).json()
    root = next(n for n in last["nodes"] if n["id"] == f"asset:{hub.pk}")
    assert len(last["nodes"]) == 1 + 15 and (root["hidden_downstream"], root["next_downstream"]) == (0, None)
    for bad, message in (
        ({"offset": "-1"}, "offset must be between 0 and 1000000"),
        ({"limit": "0"}, "limit must be between 1 and 100"),
        ({"limit": "101"}, "limit must be between 1 and 100"),
        ({"offset": "<b>"}, "offset must be a whole number"),
    ):
        answer = client.get(url, {"node": f"asset:{hub.pk}", **bad})
        assert answer.status_code == 400 and answer.json()["error"]["message"] == message


@pytest.mark.django_db
def test_asset_edges_carry_the_column_transformations_through_their_job(hub, client, make_user):
    client.force_login(make_user("steward"))
    answer = client.get(
        reverse("lineage:explorer_graph"), {"node": f"asset:{hub.pk}", "direction": "downstream", "depth": 2}
    ).json()
    names = {n["id"]: n["name"] for n in answer["nodes"]}
    flows = {(names[e["source"]], names[e["target"]]): e["column_flows"] for e in answer["edges"]}
    assert flows[("raw.hub", "j00")] == {"columns": 3, "masked": 1, "types": ["DIRECT/HASH · masked", "INDIRECT/FILTER"]}
    assert flows[("j01", "out.t01")] == {"columns": 1, "masked": 0, "types": ["DIRECT/IDENTITY"]}
    html = client.get(reverse("lineage:asset", args=[hub.pk]), {"depth": 2}).content.decode()
    assert "3 column derivations, 1 masked: DIRECT/HASH · masked; INDIRECT/FILTER" in html  # the table without JavaScript
    # j00's columnLineage: email <- hub.email (DIRECT, masked) and the dataset-wide filter on hub.id
    # (INDIRECT) into both output columns: 3 column derivations
    # column level: no summary (the edges are the column derivations themselves)
    columns = client.get(
        reverse("lineage:explorer_graph"), {"node": f"asset:{hub.pk}", "direction": "downstream", "depth": 1, "level": "column"}
    ).json()
    assert columns["edges"] and all(e["column_flows"] is None for e in columns["edges"])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_steward_pages_through_a_hub_with_n_more_boxes_and_reads_edge_labels(page_as, hub, screenshots):
    page = page_as("steward", width=1366, height=768)
    started = time.monotonic()
    page.goto(page.custos_url + reverse("lineage:asset", args=[hub.pk]) + "?depth=2")
    wait_ready(page)
    assert time.monotonic() - started < 20  # laid out, never hanging
    page.screenshot(path=str(screenshots / "hub-first-page.png"))
    more = page.locator(f'g.node.more[data-more-for="asset:{hub.pk}"][data-direction="downstream"]')
    assert more.locator("text").text_content() == "45 more downstream"
    assert page.locator("g.node.job").count() == 15
    labels = page.eval_on_selector_all("g.labels text", "els => els.map(e => e.textContent)")
    assert "DIRECT/HASH · masked; INDIRECT/FILTER" in labels and "DIRECT/IDENTITY" in labels, labels
    problems = drawing_problems(page.evaluate(GEOMETRY_JS))
    assert not problems, "\n".join(problems)
    assert_accessible(page)
    hit = more.locator("rect.hit")
    assert hit.get_attribute("aria-label") == "Load 30 of 45 more downstream of raw.hub"
    hit.focus()
    page.keyboard.press("Enter")
    page.locator("#lineage-status", has_text="15 more not drawn yet").wait_for()
    wait_ready(page)
    assert page.locator("g.node.job").count() == 45
    assert more.locator("text").text_content() == "15 more downstream"
    page.screenshot(path=str(screenshots / "hub-second-page.png"))
    problems = drawing_problems(page.evaluate(GEOMETRY_JS))
    assert not problems, "\n".join(problems)
    more.locator("rect.hit").dispatch_event("click")
    page.locator("#lineage-status", has_text="Loaded 15 nodes downstream of raw.hub.").wait_for()
    wait_ready(page)
    assert page.locator("g.node.job").count() == HUB_READERS and more.count() == 0
    page.screenshot(path=str(screenshots / "hub-all.png"))
    problems = drawing_problems(page.evaluate(GEOMETRY_JS))
    assert not problems, "\n".join(problems)
    assert_accessible(page)
    edge = page.locator("table.edges tbody tr", has_text="j00").first
    assert "3 column derivations, 1 masked" in edge.inner_text()
