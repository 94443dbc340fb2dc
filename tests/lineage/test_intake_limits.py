"""Values longer than the column that stores them are a 400 naming the problem, never a 500."""

from __future__ import annotations

import copy
import logging

import pytest
from rest_framework.test import APIClient

from catalog.models import Column, DataAsset, DataSource, MLModel, ModelVersion, Tag
from lineage.models import Edge, Job, LineageEvent, Run
from tests.lineage.helpers import NS, dataset, facet, run_event

pytestmark = pytest.mark.django_db


def limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def too_long(model, name: str) -> str:
    return "x" * (limit(model, name) + 1)


@pytest.fixture
def service(make_user):
    client = APIClient()
    client.force_authenticate(make_user("service"))
    return client


def _event() -> dict:
    src = dataset("raw.orders", columns=["id", "email"])
    out = dataset("stg.orders", lineage={"id": [("raw.orders", "id", False, "IDENTITY")]})
    return run_event("load", [src], [out])


def _set(mutation):
    def build():
        event = _event()
        mutation(event)
        return event

    return build


def _lineage_input(event: dict) -> dict:
    return event["outputs"][0]["facets"]["columnLineage"]["fields"]["id"]["inputFields"][0]


CASES = {
    "dataset name": (
        _set(lambda e: e["inputs"][0].update(name=too_long(DataAsset, "qualified_name"))),
        "event.inputs[0].name",
        (DataAsset, "qualified_name"),
    ),
    "dataset namespace": (
        _set(lambda e: e["outputs"][0].update(namespace=too_long(DataSource, "namespace"))),
        "event.outputs[0].namespace",
        (DataSource, "namespace"),
    ),
    "job name": (_set(lambda e: e["job"].update(name=too_long(Job, "name"))), "event.job.name", (Job, "name")),
    "job namespace": (
        _set(lambda e: e["job"].update(namespace=too_long(Job, "namespace"))),
        "event.job.namespace",
        (Job, "namespace"),
    ),
    "parent job name": (
        _set(
            lambda e: e["run"]["facets"].update(
                parent=facet(
                    job={"namespace": "airflow://prod", "name": too_long(Job, "name")},
                    run={"runId": "0194691c-6a3e-7c2b-9f0e-3c1d2a4b5e6f"},
                )
            )
        ),
        "event.run.facets.parent.job.name",
        (Job, "name"),
    ),
    "producer": (_set(lambda e: e.update(producer="https://" + too_long(Run, "producer"))), "event.producer", (Run, "producer")),
    "schema field name": (
        _set(lambda e: e["inputs"][0]["facets"]["schema"]["fields"][0].update(name=too_long(Column, "name"))),
        "event.inputs[0].facets.schema.fields[0].name",
        (Column, "name"),
    ),
    "nested schema field name": (
        _set(
            lambda e: e["inputs"][0]["facets"]["schema"]["fields"][0].update(fields=[{"name": "y" * (limit(Column, "name") - 2)}])
        ),
        "event.inputs[0].facets.schema.fields[0].fields[0].name",
        (Column, "name"),
    ),
    "schema field type": (
        _set(lambda e: e["inputs"][0]["facets"]["schema"]["fields"][1].update(type=too_long(Column, "data_type"))),
        "event.inputs[0].facets.schema.fields[1].type",
        (Column, "data_type"),
    ),
    "column lineage output field": (
        _set(
            lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"].update(
                {too_long(Column, "name"): e["outputs"][0]["facets"]["columnLineage"]["fields"].pop("id")}
            )
        ),
        "event.outputs[0].facets.columnLineage.fields",
        (Column, "name"),
    ),
    "column lineage input field": (
        _set(lambda e: _lineage_input(e).update(field=too_long(Column, "name"))),
        "event.outputs[0].facets.columnLineage.fields.id.inputFields[0].field",
        (Column, "name"),
    ),
    "column lineage input dataset": (
        _set(lambda e: _lineage_input(e).update(name=too_long(DataAsset, "qualified_name"))),
        "event.outputs[0].facets.columnLineage.fields.id.inputFields[0].name",
        (DataAsset, "qualified_name"),
    ),
    "transformation subtype": (
        _set(lambda e: _lineage_input(e)["transformations"][0].update(subtype=too_long(Edge, "transformation_subtype"))),
        "event.outputs[0].facets.columnLineage.fields.id.inputFields[0].transformations[0].subtype",
        (Edge, "transformation_subtype"),
    ),
    "tag": (
        _set(lambda e: e["inputs"][0]["facets"].update(tags=facet(tags=[{"key": "team", "value": too_long(Tag, "name")}]))),
        "event.inputs[0].facets.tags.tags[0]",
        (Tag, "name"),
    ),
    "source code location": (
        _set(
            lambda e: e["job"]["facets"].update(
                sourceCodeLocation=facet(type="git", url="https://" + too_long(Run, "code_location"))
            )
        ),
        "event.job.facets.sourceCodeLocation.url",
        (Run, "code_location"),
    ),
    "model name": (
        _set(
            lambda e: e["outputs"].append(
                {
                    "namespace": "mlflow://r",
                    "name": "m",
                    "facets": {"custosModel": facet(model=too_long(MLModel, "name"), version="1")},
                }
            )
        ),
        "event.outputs[1].facets.custosModel.model",
        (MLModel, "name"),
    ),
    "model version": (
        _set(
            lambda e: e["outputs"].append(
                {
                    "namespace": "mlflow://r",
                    "name": "m",
                    "facets": {"custosModel": facet(model="m", version=too_long(ModelVersion, "version"))},
                }
            )
        ),
        "event.outputs[1].facets.custosModel.version",
        (ModelVersion, "version"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_longer_than_its_column_is_a_400_naming_it(service, case):
    build, path, (model, name) = CASES[case]

    response = service.post("/api/v1/lineage", build(), format="json")

    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert message.startswith(path) and f"at most {limit(model, name)} characters" in message
    assert "xxxxxxxxxx" not in message  # the value is never echoed
    assert LineageEvent.objects.count() == 0 and Run.objects.count() == 0 and DataAsset.objects.count() == 0


def test_a_model_stage_outside_the_choices_is_a_400(service):
    event = _event()
    event["outputs"].append(
        {"namespace": "mlflow://r", "name": "m", "facets": {"custosModel": facet(model="m", version="1", stage="prod")}}
    )
    response = service.post("/api/v1/lineage", event, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("event.outputs[1].facets.custosModel.stage: must be one of")


@pytest.mark.parametrize("case", list(CASES))
def test_in_a_batch_the_too_long_event_is_invalid_and_the_others_applied(service, case, caplog):
    build, path, _ = CASES[case]
    good1 = run_event("j1", [dataset("s.a")], [dataset("s.b")])
    good2 = run_event("j3", [dataset("s.b")], [dataset("s.c", namespace=NS)])

    with caplog.at_level(logging.WARNING, logger="lineage.openlineage"):
        response = service.post("/api/v1/lineage/batch", [good1, build(), copy.deepcopy(good2)], format="json")

    assert response.status_code == 207, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["applied", "invalid", "applied"]
    assert body["results"][1]["error"].startswith(path)
    assert "one by one" not in caplog.text  # rejected up front: the others still go together
    assert Run.objects.count() == 2 and LineageEvent.objects.count() == 2
