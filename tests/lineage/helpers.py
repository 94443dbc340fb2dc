"""Building OpenLineage events for tests (plain dicts, as a producer would send them)."""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache

from tests.conftest import shared_path

PRODUCER = "https://github.com/example-org/pipelines/tree/v1"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NS = "postgres://warehouse:5432"


def example(name: str) -> dict:
    return json.loads(shared_path("testdata", "openlineage", name).read_text())


def facet(**fields) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json#/$defs/X", **fields}


def dataset(
    name: str,
    *,
    namespace: str = NS,
    columns: list[str] | None = None,
    lineage: dict | None = None,
    wide: list[tuple[str, str, str]] | None = None,
    **facets,
) -> dict:
    """A dataset; ``lineage`` maps output column -> [(input dataset, input column, masking, subtype)];
    ``wide`` lists dataset-wide INDIRECT inputs (columnLineage ``dataset``) as (input dataset, input column, subtype)."""
    all_facets = dict(facets)
    if columns:
        all_facets["schema"] = facet(fields=[{"name": c, "type": "VARCHAR"} for c in columns])
    if lineage or wide:
        all_facets["columnLineage"] = facet(
            fields={
                out: {
                    "inputFields": [
                        {
                            "namespace": namespace,
                            "name": src,
                            "field": col,
                            "transformations": [{"type": "DIRECT", "subtype": subtype, "description": "", "masking": masking}],
                        }
                        for src, col, masking, subtype in inputs
                    ]
                }
                for out, inputs in (lineage or {}).items()
            }
        )
        if wide:
            all_facets["columnLineage"]["dataset"] = [
                {
                    "namespace": namespace,
                    "name": src,
                    "field": col,
                    "transformations": [
                        {"type": "INDIRECT", "subtype": subtype, "description": f"{subtype} {col}", "masking": False}
                    ],
                }
                for src, col, subtype in wide
            ]
    return {"namespace": namespace, "name": name, "facets": all_facets}


def run_event(
    job: str,
    inputs: list[dict],
    outputs: list[dict],
    *,
    event_type: str = "COMPLETE",
    run_id: str | None = None,
    time: str = "2025-01-15T10:00:00Z",
    job_facets: dict | None = None,
    run_facets: dict | None = None,
) -> dict:
    return {
        "eventType": event_type,
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": "airflow://prod", "name": job, "facets": job_facets or {}},
        "inputs": copy.deepcopy(inputs),
        "outputs": copy.deepcopy(outputs),
    }


@cache
def _validators():
    from jsonschema import Draft202012Validator, FormatChecker

    spec = shared_path("testdata", "openlineage", "spec")
    core = json.loads((spec / "OpenLineage.json").read_text())
    facets = [json.loads(p.read_text()) for p in sorted((spec / "facets").glob("*.json"))]
    # Facet files whose top level maps a facet name to its definition (BaseSubset... is a building block).
    keyed = [f for f in facets if "properties" in f and "required" not in f]
    from referencing import Registry, Resource

    registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in [core, *facets]])
    checker = FormatChecker()
    return (
        Draft202012Validator(core, registry=registry, format_checker=checker),
        [Draft202012Validator(f, registry=registry, format_checker=checker) for f in keyed],
    )


def officially_valid(event: dict) -> bool:
    """The official JSON Schemas' verdict: the event, and each dataset/job/run facet set against every facet schema."""
    core, facet_validators = _validators()
    if not core.is_valid(event):
        return False
    facet_sets = [(event.get("run") or {}).get("facets"), (event.get("job") or {}).get("facets")]
    for ds in [*(event.get("inputs") or []), *(event.get("outputs") or []), *([event["dataset"]] if "dataset" in event else [])]:
        if isinstance(ds, dict):
            facet_sets.append(ds.get("facets"))
    return all(v.is_valid(fs) for fs in facet_sets if isinstance(fs, dict) for v in facet_validators)
