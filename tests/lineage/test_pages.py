"""Steward pages: the lineage explorer and its JSON graph endpoint, scoped like the API.

The browser draws the graph (static/lineage/explorer.js, tests/e2e/test_lineage_explorer.py);
these tests check what the server hands it: the graph embedded in the page (``#lineage-data``)
and the hop-by-hop answers of ``lineage:explorer_graph``.
"""

import json
import re

import pytest
from django.urls import reverse

from catalog import services as catalog
from catalog.choices import Sensitivity
from lineage.panels import asset_lineage_context
from tests.lineage import scenario


@pytest.fixture
def wh(make_user, django_capture_on_commit_callbacks):
    return scenario.build(make_user("service"), django_capture_on_commit_callbacks)


def embedded(html: str) -> dict:
    found = re.search(r'<script id="lineage-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "no graph embedded in the page"
    return json.loads(found.group(1))


def names(graph: dict) -> set[str]:
    return {n["name"] for n in graph["nodes"]}


def test_the_asset_page_is_the_explorer_centred_on_the_asset(wh, client, steward):
    client.force_login(steward)
    page = client.get(reverse("lineage:asset", args=[wh.staging.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    graph = embedded(html)
    # depth 3 each way: raw, load | features, export, mart, export.copy, train, churn@1
    assert len(graph["nodes"]) == 9
    assert graph["roots"] == [f"asset:{wh.staging.pk}"]
    assert "staging.customers" in names(graph) and "elkjs-0.12.2/elk.bundled.js" in html and "explorer.js" in html
    assert all(e["source"] in {n["id"] for n in graph["nodes"]} for e in graph["edges"])


def test_the_column_level_page_marks_masking_edges(wh, client, steward):
    client.force_login(steward)
    graph = embedded(client.get(reverse("lineage:asset", args=[wh.mart.pk]) + "?level=column").content.decode())
    assert {n["type"] for n in graph["nodes"]} == {"column"}
    masked = [e for e in graph["edges"] if e["masking"]]
    assert masked and all(e["stops_propagation"] for e in masked)
    assert masked[0]["transformations"][0]["masking"] is True


def test_the_model_version_page_shows_provenance_runs_and_people(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("lineage:model_version", args=[wh.model_version.pk])).content.decode()
    graph = embedded(html)
    assert "raw.customers" in names(graph) and "<h2>Runs</h2>" in html and "ran jobs" in html
    assert graph["upstream"] == 10  # everything upstream, back to the sources


def test_the_catalog_asset_page_links_to_the_graph(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("catalog:asset", args=[wh.raw.pk])).content.decode()
    assert reverse("lineage:asset", args=[wh.raw.pk]) in html


def test_a_viewer_gets_404_for_a_restricted_asset_and_never_sees_it_in_a_graph(wh, client, steward, make_user):
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    client.force_login(make_user("viewer"))
    assert client.get(reverse("lineage:asset", args=[wh.staging.pk])).status_code == 404
    html = client.get(reverse("lineage:asset", args=[wh.raw.pk])).content.decode()
    assert "staging.customers" not in html
    url = reverse("lineage:explorer_graph")
    assert client.get(url, {"node": f"asset:{wh.staging.pk}"}).status_code == 404
    answer = client.get(url, {"node": f"job:{wh.raw.pk}", "direction": "downstream"})
    assert "staging.customers" not in answer.content.decode()


def test_anonymous_users_are_sent_to_login(wh, client):
    assert client.get(reverse("lineage:asset", args=[wh.raw.pk])).status_code == 302
    assert client.get(reverse("lineage:explorer")).status_code == 302
    assert client.get(reverse("lineage:explorer_graph"), {"node": f"asset:{wh.raw.pk}"}).status_code == 302


# --- hop by hop ---------------------------------------------------------------------------------


def test_one_hop_at_a_time_flags_which_nodes_have_more(wh, client, steward):
    client.force_login(steward)
    url = reverse("lineage:explorer_graph")
    first = client.get(url, {"node": f"asset:{wh.raw.pk}", "direction": "downstream", "depth": 1}).json()
    by_name = {n["name"]: n for n in first["nodes"]}
    assert set(by_name) == {"raw.customers", "load"}
    assert by_name["raw.customers"]["more_downstream"] is False  # its one hop is loaded
    assert by_name["load"]["more_downstream"] is True  # staging.customers is beyond
    assert by_name["load"]["more_upstream"] is None  # not walked that way: unknown
    job = by_name["load"]["id"]
    second = client.get(url, {"node": job, "direction": "downstream", "depth": 1}).json()
    assert {n["name"] for n in second["nodes"]} == {"load", "staging.customers"}
    assert [(e["source"], e["kind"]) for e in second["edges"]] == [(job, "produces")]
    upstream = client.get(url, {"node": job, "direction": "upstream", "depth": 1}).json()
    assert {n["name"]: n["more_upstream"] for n in upstream["nodes"]} == {"load": False, "raw.customers": False}


def test_the_graph_answer_gives_pii_and_links(wh, client, steward):
    email = wh.col(wh.raw, "email")
    catalog.classification_assign(column=email, entity_type="EMAIL_ADDRESS", actor=steward, sensitivity="confidential")
    client.force_login(steward)
    answer = client.get(
        reverse("lineage:explorer_graph"),
        {"node": f"column:{email.pk}", "level": "column", "direction": "downstream", "depth": 2},
    ).json()
    nodes = {n["id"]: n for n in answer["nodes"]}
    assert nodes[f"column:{email.pk}"]["pii"] == ["EMAIL_ADDRESS"]
    assert nodes[f"column:{email.pk}"]["links"]["page"] == reverse("catalog:asset", args=[wh.raw.pk])
    from_email = [e for e in answer["edges"] if e["source"] == f"column:{email.pk}"]
    assert from_email and all(e["pii"] for e in from_email)
    asset_answer = client.get(reverse("lineage:explorer_graph"), {"node": f"asset:{wh.raw.pk}", "direction": "downstream"}).json()
    assert [n["pii"] for n in asset_answer["nodes"] if n["id"] == f"asset:{wh.raw.pk}"] == [["EMAIL_ADDRESS"]]


def test_as_of_a_date_before_any_lineage_shows_the_start_alone(wh, client, steward):
    client.force_login(steward)
    url = reverse("lineage:explorer_graph")
    before = client.get(url, {"node": f"asset:{wh.staging.pk}", "depth": 3, "at": "2024-12-31"}).json()
    assert [n["name"] for n in before["nodes"]] == ["staging.customers"] and before["edges"] == []
    assert before["at"] == "2024-12-31T23:59:59.999999Z"
    after = client.get(url, {"node": f"asset:{wh.staging.pk}", "depth": 3, "at": "2025-01-01T05:00:00Z"}).json()
    assert len(after["nodes"]) == 9
    page = client.get(reverse("lineage:asset", args=[wh.staging.pk]), {"at": "2024-12-31"}).content.decode()
    assert "The graph as of 2024-12-31T23:59:59.999999Z" in page


@pytest.mark.parametrize(
    "params",
    [{"node": "asset:x"}, {"node": "run:1"}, {"depth": "99"}, {"level": "table"}, {"at": "yesterday"}, {"direction": "sideways"}],
)
def test_bad_parameters_are_a_400_that_does_not_echo_them(wh, client, steward, params):
    client.force_login(steward)
    answer = client.get(reverse("lineage:explorer_graph"), {"node": f"asset:{wh.raw.pk}", **params})
    assert answer.status_code == 400
    for value in params.values():
        assert value not in answer.json()["error"]["message"]


def test_an_unknown_node_is_a_404(wh, client, steward):
    client.force_login(steward)
    assert client.get(reverse("lineage:explorer_graph"), {"node": "asset:999999"}).status_code == 404
    assert client.get(reverse("lineage:explorer"), {"node": "asset:999999"}).status_code == 404


def test_the_explorer_without_a_node_finds_an_asset_to_start_from(wh, client, steward, make_user):
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    client.force_login(make_user("viewer"))
    html = client.get(reverse("lineage:explorer"), {"q": "customers"}).content.decode()
    assert reverse("lineage:asset", args=[wh.raw.pk]) in html
    assert "staging.customers" not in html  # the catalog's scoping


# --- bounded queries ----------------------------------------------------------------------------


def test_the_graph_endpoint_runs_a_bounded_number_of_queries(wh, client, steward, django_assert_max_num_queries):
    client.force_login(steward)
    url = reverse("lineage:explorer_graph")
    client.get(url, {"node": f"asset:{wh.staging.pk}"})  # warm the graph cache
    with django_assert_max_num_queries(12):
        assert client.get(url, {"node": f"asset:{wh.staging.pk}", "depth": 3}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url, {"node": f"asset:{wh.staging.pk}", "depth": 3, "level": "column"}).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url, {"node": f"asset:{wh.staging.pk}", "depth": 3, "at": "2025-06-01"}).status_code == 200


def test_the_pages_run_a_bounded_number_of_queries(wh, client, steward, django_assert_max_num_queries):
    client.force_login(steward)
    client.get(reverse("lineage:asset", args=[wh.staging.pk]))
    with django_assert_max_num_queries(25):
        assert client.get(reverse("lineage:asset", args=[wh.staging.pk])).status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(reverse("lineage:model_version", args=[wh.model_version.pk])).status_code == 200


# --- the asset-page panel ------------------------------------------------------------------------


def test_the_asset_panel_lists_upstream_and_downstream_scoped(wh, rf, steward, make_user):
    request = rf.get("/")
    request.user = steward
    context = asset_lineage_context(request, wh.staging)
    assert [n["name"] for n in context["upstream"]] == ["raw.customers"]
    assert [(n["name"], n["hops"]) for n in context["downstream"]] == [("mart.features", 2), ("export.copy", 2), ("churn@1", 3)]
    assert [n["name"] for n in context["downstream_jobs"]] == ["features", "export", "train"]
    assert context["explorer_url"] == reverse("lineage:asset", args=[wh.staging.pk])
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    request.user = make_user("viewer")
    assert asset_lineage_context(request, wh.staging) is None
    assert "staging.customers" not in str(asset_lineage_context(request, wh.raw))


def test_the_model_version_panel_lists_the_data_upstream(wh, rf, steward, make_user):
    from lineage.panels import model_version_lineage_context

    request = rf.get("/")
    request.user = steward
    context = model_version_lineage_context(request, wh.model_version)
    assert [(n["name"], n["hops"]) for n in context["assets"]] == [
        ("mart.features", 1),
        ("staging.customers", 3),
        ("raw.customers", 5),
    ]
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    request.user = make_user("viewer")
    assert [n["name"] for n in model_version_lineage_context(request, wh.model_version)["assets"]] == ["mart.features"]


def test_the_catalog_and_model_pages_show_the_lineage_panels(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("catalog:asset", args=[wh.staging.pk])).content.decode()
    assert 'id="panel-lineage"' in html and "Open in the lineage explorer" in html and "mart.features" in html
    html = client.get(reverse("models:version", args=[wh.model_version.pk])).content.decode()
    assert 'id="panel-lineage"' in html and reverse("lineage:model_version", args=[wh.model_version.pk]) in html
    assert "raw.customers" in html


def test_a_large_answer_keeps_the_nearest_nodes_and_says_so(wh, client, steward, monkeypatch):
    from lineage import views

    monkeypatch.setattr(views, "MAX_NODES", 4)
    client.force_login(steward)
    answer = client.get(reverse("lineage:explorer_graph"), {"node": f"asset:{wh.staging.pk}", "depth": 3}).json()
    assert answer["truncated"] == {"limit": 4, "found": 9}
    assert {n["name"]: n["more_upstream"] if n["name"] == "load" else n["more_downstream"] for n in answer["nodes"]} == {
        "staging.customers": False,  # its own hop each way is complete
        "load": None,  # beyond the cut: unknown, so the page offers to expand it
        "features": None,
        "export": None,
    }
    assert {(e["source"], e["target"]) for e in answer["edges"]} <= {
        (n["id"], m["id"]) for n in answer["nodes"] for m in answer["nodes"]
    }


def test_a_bad_parameter_on_the_page_is_said_and_the_defaults_are_shown(wh, client, steward):
    client.force_login(steward)
    page = client.get(reverse("lineage:asset", args=[wh.staging.pk]), {"at": "yesterday", "depth": "3"})
    html = page.content.decode()
    assert page.status_code == 200 and "as-of date must be YYYY-MM-DD" in html and "yesterday" not in html
    assert len(embedded(html)["nodes"]) == 9
    assert client.get(reverse("lineage:explorer"), {"node": "asset:x"}).status_code == 400


@pytest.mark.parametrize("level", ["asset", "column"])
def test_the_explorer_answer_has_the_same_nodes_and_edges_as_the_api(wh, client, steward, make_user, level):
    catalog.asset_update(asset=wh.mart, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    from rest_framework.test import APIClient

    for role in ("viewer", "steward"):
        user = make_user(role)
        client.force_login(user)
        api = APIClient()
        api.force_authenticate(user)
        for direction in ("upstream", "downstream", "both"):
            params = {"node": f"asset:{wh.staging.pk}", "direction": direction, "depth": 2, "level": level}
            ours = client.get(reverse("lineage:explorer_graph"), params).json()
            theirs = api.get("/api/v1/lineage/graph", params).json()
            assert {n["id"] for n in ours["nodes"]} == {n["id"] for n in theirs["nodes"]}, (role, direction)
            assert {e["pk"] for e in ours["edges"]} == {e["pk"] for e in theirs["edges"]}, (role, direction)
            if direction != "upstream":  # the restricted table is one or two hops downstream
                shown = any(n.get("asset_name", n["name"]) == "mart.features" for n in ours["nodes"])
                assert shown == (role == "steward"), (role, direction)
