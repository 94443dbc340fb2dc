"""Graph queries: traversals, impact, provenance, paths, as-of, exports, scoping, the cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import networkx as nx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services as catalog
from catalog.choices import Sensitivity
from lineage import selectors
from lineage.graph import cache
from lineage.models import Edge
from lineage.openlineage import event_ingest
from lineage.services import anonymization_link
from tests.factories import AssetFactory
from tests.lineage import scenario
from tests.lineage.helpers import dataset, run_event


@pytest.fixture
def wh(make_user, django_capture_on_commit_callbacks):
    return scenario.build(make_user("service"), django_capture_on_commit_callbacks)


def names(described):
    return sorted(n["name"] for n in described["nodes"])


def test_upstream_and_downstream_respect_the_depth(wh, steward):
    down1 = selectors.describe(selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}", depth=2), user=steward)
    down_all = selectors.describe(selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}", depth=None), user=steward)
    up = selectors.describe(selectors.upstream(user=steward, node=f"model_version:{wh.model_version.pk}", depth=4), user=steward)

    assert names(down1) == ["load", "raw.customers", "staging.customers"]
    assert {"mart.features", "export.copy", "churn@1"} <= set(names(down_all))
    # trained_on links the training data to the version directly (the training job is beside it).
    assert names(up) == ["churn@1", "features", "load", "mart.features", "staging.customers"]


def test_column_level_lineage_from_a_column(wh, steward):
    sub = selectors.downstream(user=steward, node=f"column:{wh.col(wh.raw, 'email').pk}", depth=5, level="column")
    described = selectors.describe(sub, user=steward)
    assert sorted((n["asset_name"], n["name"]) for n in described["nodes"]) == [
        ("export.copy", "email"),
        ("mart.features", "email_hash"),
        ("raw.customers", "email"),
        ("staging.customers", "email"),
    ]
    masked = [e for e in described["edges"] if e["masking"]]
    assert len(masked) == 1 and masked[0]["stops_propagation"]


def test_impact_analysis_groups_what_an_asset_touches(wh, steward, make_user):
    owner = make_user("steward", username="mart_owner")
    catalog.asset_set_owners(asset=wh.mart, owners=[owner], actor=steward)

    impact = selectors.impact(user=steward, node=f"asset:{wh.raw.pk}")

    assert sorted(a["name"] for a in impact["assets"]) == ["export.copy", "mart.features", "staging.customers"]
    assert sorted(j["name"] for j in impact["jobs"]) == ["export", "features", "load", "train"]
    assert [m["name"] for m in impact["model_versions"]] == ["churn@1"]
    assert len(impact["columns"]) == 3 + 3 + 1
    assert [o["username"] for o in impact["owners"]] == ["mart_owner"]


def test_impact_of_a_column_reaches_models_through_derived_columns(wh, steward):
    impact = selectors.impact(user=steward, node=f"column:{wh.col(wh.raw, 'name').pk}")
    assert sorted(c["asset_name"] for c in impact["columns"]) == ["mart.features", "staging.customers"]
    assert [m["name"] for m in impact["model_versions"]] == ["churn@1"]


def test_model_provenance_reaches_the_sources_with_runs_and_people(wh, steward):
    answer = selectors.model_provenance(user=steward, model_version_id=wh.model_version.pk)
    assert [s["name"] for s in answer["sources"]] == ["raw.customers"]
    assert sorted(r["job_name"].split(":")[-1] for r in answer["runs"]) == ["export", "features", "load", "train"] or sorted(
        r["job_name"].split(":")[-1] for r in answer["runs"]
    ) == ["features", "load", "train"]
    assert all(r["state"] == "COMPLETE" and r["submitted_by"] for r in answer["runs"])
    assert any("ran jobs" in p["roles"] for p in answer["people"])
    assert any(e["masking"] for e in answer["column_edges"])


def test_path_between_a_source_and_a_model(wh, steward):
    answer = selectors.path(user=steward, source=f"model_version:{wh.model_version.pk}", target=f"asset:{wh.raw.pk}")
    assert answer["found"] and answer["direction"] == "upstream"
    assert [n["name"] for n in answer["nodes"]] == [
        "raw.customers",
        "load",
        "staging.customers",
        "features",
        "mart.features",
        "churn@1",
    ]
    assert [e["kind"] for e in answer["edges"]] == ["consumes", "produces", "consumes", "produces", "trained_on"]


def test_the_graph_as_of_a_date_shows_edges_since_removed(wh, steward, make_user):
    event_ingest(
        payload=run_event("export", [dataset("mart.features")], [dataset("export.copy")], time="2025-03-01T00:00:00Z"),
        actor=make_user("service"),
    )

    now = selectors.upstream(user=steward, node=f"asset:{wh.export.pk}", depth=2)
    before = selectors.upstream(user=steward, node=f"asset:{wh.export.pk}", depth=2, at=datetime(2025, 2, 1, tzinfo=UTC))
    ancient = selectors.upstream(user=steward, node=f"asset:{wh.export.pk}", depth=2, at=datetime(2024, 12, 1, tzinfo=UTC))

    assert f"asset:{wh.mart.pk}" in now.nodes and f"asset:{wh.staging.pk}" not in now.nodes
    assert f"asset:{wh.staging.pk}" in before.nodes and f"asset:{wh.mart.pk}" not in before.nodes
    assert list(ancient.nodes) == [f"asset:{wh.export.pk}"]


def test_production_models_depending_on_a_pii_type_is_one_query(wh, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "name"), entity_type="PERSON", actor=steward)
        catalog.classification_assign(column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", actor=steward)

    person = selectors.models_depending_on(user=steward, entity_type="PERSON")
    email = selectors.models_depending_on(user=steward, entity_type="EMAIL_ADDRESS")
    staging_only = selectors.models_depending_on(user=steward, entity_type="PERSON", stage="staging")

    assert [(m["name"], m["direct"]) for m in person["model_versions"]] == [("churn@1", True)]
    # The e-mail was hashed before the feature table: only an upstream dependency.
    assert [(m["name"], m["direct"]) for m in email["model_versions"]] == [("churn@1", False)]
    assert staging_only["model_versions"] == []


def test_exports_are_valid_graphml_node_link_and_dot(wh, steward, api_as):
    client = api_as("steward")
    node = f"asset:{wh.staging.pk}"
    graphml = client.get("/api/v1/lineage/graph", {"node": node, "depth": 2, "export": "graphml"})
    node_link = client.get("/api/v1/lineage/graph", {"node": node, "depth": 2, "export": "node-link"})
    dot = client.get("/api/v1/lineage/graph", {"node": node, "depth": 2, "export": "dot"})

    parsed = nx.parse_graphml(graphml.content.decode())
    linked = nx.node_link_graph(json.loads(node_link.content), edges="links")
    assert set(parsed.nodes) == set(linked.nodes) and len(parsed.nodes) == 7  # staging, load, raw | features, export, mart, copy
    assert parsed.nodes[node]["name"] == "staging.customers"
    assert dot.content.decode().startswith("digraph lineage {") and f'"{node}" -> ' in dot.content.decode()


def test_a_viewer_never_sees_restricted_assets_through_lineage(wh, steward, api_as):
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    viewer = api_as("viewer")

    down = viewer.get("/api/v1/lineage/graph", {"node": f"asset:{wh.raw.pk}", "direction": "downstream", "depth": 10}).json()
    hidden = viewer.get("/api/v1/lineage/graph", {"node": f"asset:{wh.staging.pk}"})
    impact = viewer.get("/api/v1/lineage/impact", {"node": f"asset:{wh.raw.pk}"}).json()
    marquez = viewer.get("/api/v1/lineage", {"nodeId": "dataset:postgres://warehouse:5432:staging.customers"})
    steward_view = api_as("steward").get(
        "/api/v1/lineage/graph", {"node": f"asset:{wh.raw.pk}", "direction": "downstream", "depth": 10}
    )

    assert "staging.customers" not in json.dumps(down) and "mart.features" not in json.dumps(down)
    assert hidden.status_code == 404 and marquez.status_code == 404
    assert "staging.customers" not in json.dumps(impact)
    assert "staging.customers" in steward_view.content.decode()


@pytest.mark.parametrize(
    "url", ["/api/v1/lineage/graph?node=asset:1", "/api/v1/lineage?nodeId=dataset:x:y", "/api/v1/lineage/impact?node=asset:1"]
)
def test_anonymous_reads_are_refused(api, url, db):
    assert api.get(url).status_code == 401


def test_the_cache_loads_once_and_follows_later_writes_by_delta(wh, steward, make_user):
    selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}")
    assert cache.loads == 1
    with CaptureQueriesContext(connection) as queries:
        selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}", depth=1)
    assert len(queries) <= 2  # the version check (+ nothing else for a node in the graph)

    event_ingest(payload=run_event("more", [dataset("export.copy")], [dataset("archive.copy")]), actor=make_user("service"))
    after = selectors.downstream(user=steward, node=f"asset:{wh.export.pk}", depth=2)

    assert cache.loads == 1 and cache.deltas >= 1  # caught up by delta, never rebuilt
    assert any(k.startswith("asset:") and k != f"asset:{wh.export.pk}" for k in after.nodes)


def test_another_process_write_is_seen_through_the_version_row(wh, steward):
    selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}")
    # A write this process's cache never heard of (as from another worker): straight SQL-level ORM.
    from django.db import transaction
    from django.utils import timezone

    from lineage.services import EdgeSpec, edges_assert, graph_version_bump

    other = AssetFactory()
    with transaction.atomic():
        version = graph_version_bump()
        edges_assert(
            specs=[EdgeSpec("anonymized", "asset", wh.raw.pk, "asset", other.pk, masking=True)],
            at=timezone.now(),
            version=version,
            actor="other-worker",
        )

    sub = selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}", depth=1)
    assert f"asset:{other.pk}" in sub.nodes and cache.loads == 1


def test_registering_a_model_version_with_training_data_links_it(steward, django_capture_on_commit_callbacks, api_as):
    features = AssetFactory()
    model = catalog.model_create(actor=steward, name="fraud")
    with django_capture_on_commit_callbacks(execute=True):
        version = catalog.model_version_register(actor=steward, model=model, version="2", training_datasets=[features])

    edge = Edge.objects.get(kind="trained_on", dst_id=version.pk, valid_to__isnull=True)
    assert edge.src_id == features.pk
    sub = selectors.upstream(user=steward, node=f"model_version:{version.pk}", depth=1)
    assert f"asset:{features.pk}" in sub.nodes

    with django_capture_on_commit_callbacks(execute=True):
        catalog.model_version_update(model_version=version, actor=steward, training_datasets=[])
    assert not Edge.objects.filter(kind="trained_on", valid_to__isnull=True).exists()


def test_marquez_read_has_marquezs_shape(wh, api_as):
    response = api_as("viewer").get(
        "/api/v1/lineage", {"nodeId": "dataset:postgres://warehouse:5432:staging.customers", "depth": 2}
    )
    assert response.status_code == 200
    graph = response.json()["graph"]
    by_id = {n["id"]: n for n in graph}
    staging = by_id["dataset:postgres://warehouse:5432:staging.customers"]
    assert set(staging) == {"id", "type", "data", "inEdges", "outEdges"}
    assert staging["type"] == "DATASET" and staging["data"]["id"] == {
        "namespace": "postgres://warehouse:5432",
        "name": "staging.customers",
    }
    assert {"origin": "job:airflow://prod:load", "destination": "dataset:postgres://warehouse:5432:staging.customers"} in staging[
        "inEdges"
    ]
    load = by_id["job:airflow://prod:load"]
    assert load["type"] == "JOB" and load["data"]["outputs"] == [
        {"namespace": "postgres://warehouse:5432", "name": "staging.customers"}
    ]
    assert [n["id"] for n in graph] == sorted(n["id"] for n in graph)


def test_between_version_checks_reads_cost_no_query_and_own_commits_show_at_once(wh, steward, django_capture_on_commit_callbacks):
    cache.max_staleness = 60
    selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}")
    with CaptureQueriesContext(connection) as queries:
        selectors.downstream(user=steward, node=f"asset:{wh.raw.pk}", depth=3)
    assert len(queries) == 0

    other = AssetFactory()
    with django_capture_on_commit_callbacks(execute=True):
        anonymization_link(source_asset=wh.export, target_asset=other, column_pairs=[("email", "email")], actor=steward)
    assert f"asset:{other.pk}" in selectors.downstream(user=steward, node=f"asset:{wh.export.pk}", depth=1).nodes


def test_deleting_a_model_version_closes_its_edges(steward, django_capture_on_commit_callbacks):
    features = AssetFactory()
    model = catalog.model_create(actor=steward, name="to-delete")
    with django_capture_on_commit_callbacks(execute=True):
        version = catalog.model_version_register(actor=steward, model=model, version="1", training_datasets=[features])
    assert Edge.objects.filter(kind="trained_on", valid_to__isnull=True).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        catalog.model_version_delete(model_version=version, actor=steward)

    edge = Edge.objects.get(kind="trained_on")
    assert edge.valid_to is not None  # history kept: the version was trained on it until now


def test_the_restricted_set_is_kept_per_process_and_exact_after_this_process_writes(
    wh, steward, make_user, django_capture_on_commit_callbacks
):
    """The scoping set (lineage.graph.RestrictedAssets) with a staleness window, as in production."""
    cache.max_staleness = 60.0
    viewer = make_user("viewer")
    start = f"asset:{wh.raw.pk}"
    before = selectors.downstream(user=viewer, node=start, depth=10).nodes
    loads = cache.restricted.loads
    with CaptureQueriesContext(connection) as queries:
        selectors.downstream(user=viewer, node=start, depth=10)
    assert cache.restricted.loads == loads and not any("sensitivity" in q["sql"] for q in queries.captured_queries)

    # a write through the catalog service in this process: exact at the next read
    with django_capture_on_commit_callbacks(execute=True):
        catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    after = selectors.downstream(user=viewer, node=start, depth=10).nodes
    assert f"asset:{wh.staging.pk}" in before and f"asset:{wh.staging.pk}" not in after
    assert cache.restricted.loads == loads + 1

    # a write that bypasses save() (another process, or a bulk UPDATE): shown once the window ends
    type(wh.staging).objects.filter(pk=wh.staging.pk).update(sensitivity=Sensitivity.INTERNAL)
    assert f"asset:{wh.staging.pk}" not in selectors.downstream(user=viewer, node=start, depth=10).nodes
    cache.max_staleness = 0.0
    assert f"asset:{wh.staging.pk}" in selectors.downstream(user=viewer, node=start, depth=10).nodes
