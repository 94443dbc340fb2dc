"""The query API over HTTP semantics: parameters, permissions, the error envelope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog import services as catalog
from lineage.models import Edge
from tests.lineage import scenario


@pytest.fixture
def wh(make_user, django_capture_on_commit_callbacks):
    return scenario.build(make_user("service"), django_capture_on_commit_callbacks)


def test_provenance_path_why_pii_and_models_depending_answer_over_http(wh, api_as, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "name"), entity_type="PERSON", actor=steward)
    client = api_as("auditor")

    provenance = client.get(f"/api/v1/lineage/model-versions/{wh.model_version.pk}/provenance").json()
    path = client.get("/api/v1/lineage/path", {"from": f"asset:{wh.raw.pk}", "to": f"model_version:{wh.model_version.pk}"}).json()
    why = client.get(f"/api/v1/lineage/columns/{wh.col(wh.mart, 'name').pk}/why-pii").json()
    models = client.get("/api/v1/lineage/models-depending", {"entity_type": "person"}).json()

    assert [s["name"] for s in provenance["sources"]] == ["raw.customers"]
    assert path["found"] and path["direction"] == "downstream" and len(path["edges"]) == 5
    assert [s["name"] for s in why["classifications"][0]["path"]] == [
        "raw.customers.name",
        "staging.customers.name",
        "mart.features.name",
    ]
    assert [m["name"] for m in models["model_versions"]] == ["churn@1"]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"node": "table:1"}, "node"),
        ({"node": "asset:1", "depth": "x"}, "depth"),
        ({"node": "asset:1", "direction": "sideways"}, "direction"),
        ({"node": "asset:1", "at": "yesterday"}, "at"),
        ({"node": "asset:1", "export": "pdf"}, "export"),
    ],
)
def test_bad_query_parameters_are_400_in_the_shared_envelope(wh, api_as, params, field):
    params = {k: (v.replace("asset:1", f"asset:{wh.raw.pk}") if isinstance(v, str) else v) for k, v in params.items()}
    response = api_as("viewer").get("/api/v1/lineage/graph", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["fields"]


def test_an_unknown_node_is_404(db, api_as):
    response = api_as("viewer").get("/api/v1/lineage/graph", {"node": "asset:999999"})
    assert response.status_code == 404 and response.json()["error"]["status"] == 404


def test_the_as_of_parameter_is_honoured(wh, api_as):
    before = api_as("viewer").get("/api/v1/lineage/graph", {"node": f"asset:{wh.raw.pk}", "at": "2024-12-31T00:00:00Z"}).json()
    assert [n["id"] for n in before["nodes"]] == [f"asset:{wh.raw.pk}"] and before["at"] == "2024-12-31T00:00:00Z"


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("service", 403), ("steward", 200)])
def test_only_stewards_block_or_allow_an_edge(wh, api_as, role, expected):
    edge = Edge.objects.filter(kind="derives", masking=True).first()
    response = api_as(role).post(
        f"/api/v1/lineage/edges/{edge.pk}/propagation", {"propagation": "allow", "reason": "weak hash"}, format="json"
    )
    assert response.status_code == expected
    edge.refresh_from_db()
    assert (edge.propagation == "allow") is (expected == 200)
    assert AuditEvent.objects.filter(action="lineage.edge.set_propagation").exists() is (expected == 200)


def test_an_invalid_propagation_value_is_400(wh, api_as):
    edge = Edge.objects.filter(kind="derives").first()
    response = api_as("steward").post(f"/api/v1/lineage/edges/{edge.pk}/propagation", {"propagation": "maybe"}, format="json")
    assert response.status_code == 400 and "propagation" in response.json()["error"]["fields"]


def test_the_admin_action_blocks_propagation_through_the_service(wh, client, make_user):
    admin = make_user("admin")
    client.force_login(admin)
    edge = Edge.objects.filter(kind="derives").first()
    response = client.post(
        reverse("admin:lineage_edge_changelist"),
        {"action": "block_propagation", "_selected_action": [edge.pk], "apply": "1", "reason": "r"},  # confirmed
        follow=True,
    )
    assert response.status_code == 200
    edge.refresh_from_db()
    assert edge.propagation == "block"
    assert AuditEvent.objects.get(action="lineage.edge.set_propagation").actor_id == str(admin.pk)
