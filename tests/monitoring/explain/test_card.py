"""Model card: assembled from the catalog, lineage, monitoring (a real monitor run), explanations and
fairness, scoped for the reader; what the stores do not hold is listed as missing, never invented."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from monitoring import services as monitoring_services
from monitoring.explain import services
from monitoring.explain.card import model_card
from tests.factories import AssetFactory, MLModelFactory, ModelVersionFactory
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare(db):
    return ModelVersionFactory(model=MLModelFactory(description=""))


@pytest.fixture
def documented(users, roots, reference_asset):
    version = ModelVersionFactory(
        model=MLModelFactory(description="Scores loan applications.", owner=users["steward"]),
        algorithm="random forest",
        framework="scikit-learn 1.7",
        hyperparameters={"n_estimators": 10},
        metrics={"roc_auc": 0.81},
        intended_use="Pre-screening of consumer loans",
        limitations="Not for business loans",
    )
    version.training_datasets.add(reference_asset)
    version.evaluation_datasets.add(AssetFactory(qualified_name="files.holdout", sensitivity="confidential"))
    monitor = monitoring_services.monitor_create(
        actor=users["steward"], model_version=version, name="m", reference_asset=reference_asset, columns=["age"]
    )
    monitoring_services.batch_log(actor=users["service"], model_version=version, rows=make_frame(1500, seed=41, shift=0.6))
    monitoring_services.monitor_run(actor=users["service"], monitor=monitor)
    rng = np.random.default_rng(3)
    pd.DataFrame({"sex": rng.choice(["f", "m"], 400), "approved": rng.integers(0, 2, 400)}).to_csv(
        roots / "decisions.csv", index=False
    )
    services.fairness_assess(
        actor=users["steward"],
        location=str(roots / "decisions.csv"),
        prediction="approved",
        group=["sex"],
        positive="1",
        model_version=version,
    )
    return version


def test_a_bare_version_states_nothing_the_stores_do_not_hold(users, bare):
    card = model_card(user=users["viewer"], model_version=bare)
    assert card["model_details"]["overview"] is None and card["model_parameters"]["model_architecture"] is None
    for path in (
        "model_details.overview",
        "model_details.owners",
        "model_parameters.model_architecture",
        "model_parameters.data.train",
        "quantitative_analysis.performance_metrics",
        "quantitative_analysis.fairness_assessments",
        "considerations.limitations",
        "considerations.use_cases",
    ):
        assert path in card["missing"]
    statuses = {i["item"]: i["status"] for i in card["annex_iv"]["items"]}
    assert statuses["risk management system (Art. 9)"] == "missing"
    assert statuses["EU declaration of conformity"] == "missing"
    assert statuses["post-market monitoring (Art. 72)"] == "missing"
    assert card["quantitative_analysis"]["monitoring"]["latest_runs"] == []


def test_a_documented_version_carries_catalog_lineage_monitoring_and_fairness_facts(users, documented):
    card = model_card(user=users["auditor"], model_version=documented)
    d, p, q, c = (card[k] for k in ("model_details", "model_parameters", "quantitative_analysis", "considerations"))
    assert d["overview"] == "Scores loan applications." and d["owners"] == [{"name": users["steward"].get_username()}]
    assert p["model_architecture"] == "random forest" and p["hyperparameters"] == {"n_estimators": 10}
    assert [t["name"] for t in p["data"]["train"]] == ["files.reference"]
    assert [t["name"] for t in p["data"]["eval"]] == ["files.holdout"] and p["data"]["eval"][0]["sensitive"] is True
    assert {"type": "roc_auc", "value": 0.81, "slice": None, "source": "catalog"} in q["performance_metrics"]
    (run,) = q["monitoring"]["latest_runs"]
    assert run["rows"] == 1500 and ("drift", "age") in {(f["kind"], f["name"]) for f in run["flagged"]}
    assert "age" in {a["subject"] for a in q["monitoring"]["open_alerts"]}
    estimated = [m for m in q["performance_metrics"] if m["slice"] == "production (estimated, CBPE)"]
    assert estimated and all(m["source"] == f"monitor run {run['run']}" for m in estimated)
    (fair,) = q["fairness_assessments"]
    assert fair["attributes"] == ["sex"] and fair["n"] == 400
    assert c["use_cases"] == ["Pre-screening of consumer loans"] and c["limitations"] == ["Not for business loans"]
    assert "considerations.ethical_considerations" in card["missing"] and "model_details.overview" not in card["missing"]
    items = {i["item"]: i for i in card["annex_iv"]["items"]}
    assert items["post-market monitoring (Art. 72)"]["status"] == "partial"
    assert items["post-market monitoring (Art. 72)"]["facts"]["monitors"] == 1
    assert items["human oversight measures (Art. 14)"]["status"] == "missing"
    json.dumps(card)  # serialisable as it is


def test_the_api_serves_the_card_as_json_and_html_by_role(api_as, documented):
    url = f"/api/v1/explain/model-versions/{documented.pk}/card"
    for role in ("admin", "steward", "auditor", "service", "viewer"):
        r = api_as(role).get(url)
        assert r.status_code == 200, (role, r.content)
        assert r.json()["model_version_id"] == documented.pk
    assert api_as(None).get(url).status_code in (401, 403)
    page = api_as("viewer").get(url + "?format=html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    assert "Scores loan applications." in body and "missing" in body and "<script" not in body
    assert api_as("viewer").get("/api/v1/explain/model-versions/999999/card").json()["error"]["status"] == 404


def test_a_hidden_version_is_404_and_hidden_datasets_are_counted_not_named(api_as, users, make_user):
    version = ModelVersionFactory(model=MLModelFactory())
    version.training_datasets.add(AssetFactory(qualified_name="files.secret_training", sensitivity="restricted"))
    url = f"/api/v1/explain/model-versions/{version.pk}/card"
    r = api_as("service").get(url)
    assert r.status_code == 404 and r.json()["error"]["status"] == 404
    assert api_as("steward").get(url).status_code == 200
    owner = make_user("service")
    version.model.owner = owner
    version.model.save()
    card = model_card(user=owner, model_version=version)
    assert card["model_parameters"]["data"]["train"] is None or card["model_parameters"]["data"]["train"] == []
    assert card["model_parameters"]["data"]["train_not_visible"] == 1
    assert "secret_training" not in json.dumps(card)


def test_model_card_command_json_html_and_one_line_errors(users, documented, tmp_path, capsys):
    call_command("model_card", "--model-version", str(documented.pk), "--user", users["viewer"].username, "--json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["model_details"]["name"] == documented.model.name and "annex_iv" in doc
    out = tmp_path / "card.html"
    call_command("model_card", "--model-version", str(documented.pk), "--user", users["viewer"].username, "--html", str(out))
    assert out.read_text().startswith("<!doctype html>")
    with pytest.raises(CommandError, match="no such model version"):
        call_command("model_card", "--model-version", "999999", "--user", users["viewer"].username)
    with pytest.raises(CommandError, match="no such user"):
        call_command("model_card", "--model-version", str(documented.pk), "--user", "nobody")


def test_the_card_endpoint_is_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    (path,) = [p for p in paths if p.rstrip("/") == "/api/v1/explain/model-versions/{id}/card"]
    params = {p["name"]: p for p in paths[path]["get"]["parameters"]}
    assert params["id"]["schema"]["type"] == "integer" and set(params["format"]["schema"]["enum"]) == {"json", "html"}
