"""Checking answers against Marquez's OpenAPI document (``spec/openapi.yml``, v0.51).

The document is not shipped with Custos: it is read from ``MARQUEZ_OPENAPI`` or
``../shared/testdata/marquez/openapi.yml``; without it the shape checks skip, saying so.

:func:`check` walks a value against a named schema: ``$ref``/``allOf``/``anyOf``/``oneOf`` merged
into one property set; an object may hold only documented properties and must hold the
required ones; each property's value is checked recursively (type, ``enum``, array items).
Marquez's own answers carry ``null`` for absent values although the document declares no
``nullable``, so ``null`` passes. Facet maps (``*Facets``, ``CustomFacet``) are free-form.

Errata of the document, each matching what Marquez's own code returns: ``tags`` of a dataset
version and of a field are arrays of names (documented as ``string``); a column-lineage node has
type ``DATASET_FIELD`` (missing from ``NodeType``) and its ``data`` is Marquez's
``ColumnLineageNodeData`` (``api/src/main/java/marquez/db/models/ColumnLineageNodeData.java``,
not in the document: :data:`COLUMN_NODE_DATA`); a graph node's ``data`` is a ``Dataset`` for a
DATASET node and a ``Job`` for a JOB node (the document's discriminator names the node type, not
the data's ``type``). One constraint is added: a ``Job``'s ``type`` is one of the document's
``JobType`` (the document types it as a plain string; Marquez's ``Job`` holds a ``JobType``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import SHARED

FREE_FORM = {"CustomFacet", "DatasetFacets", "JobFacets", "RunFacets", "BaseFacet"}
ERRATA = {"tags"}  # documented as string in DatasetVersion/DbTable fields; Marquez answers arrays
ENUM_ERRATA = {"NodeType": ["DATASET_FIELD"]}
PROPERTY_SCHEMAS = {("Job", "type"): {"$ref": "#/components/schemas/JobType"}}
_INPUT_FIELD = {
    "type": "object",
    "properties": {
        k: {"type": t}
        for k, t in {
            "namespace": "string",
            "dataset": "string",
            "datasetVersion": "string",
            "field": "string",
            "transformationDescription": "string",
            "transformationType": "string",
            "transformations": "array",
        }.items()
    },
    "required": ["namespace", "dataset", "field"],
}
COLUMN_NODE_DATA = {
    "type": "object",
    "properties": {
        "namespace": {"type": "string"},
        "dataset": {"type": "string"},
        "datasetVersion": {"type": "string"},
        "field": {"type": "string"},
        "fieldType": {"type": "string"},
        "transformationDescription": {"type": "string"},
        "transformationType": {"type": "string"},
        "inputFields": {"type": "array", "items": _INPUT_FIELD},
    },
    "required": ["namespace", "dataset", "field", "inputFields"],
}
NODE_DATA = {
    "DATASET": {"$ref": "#/components/schemas/Dataset"},
    "JOB": {"$ref": "#/components/schemas/Job"},
    "DATASET_FIELD": COLUMN_NODE_DATA,
}
TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def spec_path() -> Path | None:
    env = os.environ.get("MARQUEZ_OPENAPI")
    path = Path(env) if env else SHARED / "testdata" / "marquez" / "openapi.yml"
    return path if path.exists() else None


@cache
def _spec() -> dict:
    import yaml

    return yaml.safe_load(spec_path().read_text())


def need_spec() -> dict:
    if spec_path() is None:
        pytest.skip(
            "needs Marquez's spec/openapi.yml (v0.51): set MARQUEZ_OPENAPI or put it at ../shared/testdata/marquez/openapi.yml"
        )
    return _spec()


def _resolve(schema: dict) -> tuple[str | None, dict]:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return name, _spec()["components"]["schemas"][name]
    return None, schema


def _merged(schema: dict) -> tuple[dict, set, list]:
    """(properties, required, enum) of a schema with its allOf/anyOf/oneOf parts merged."""
    props, required, enum = dict(schema.get("properties", {})), set(schema.get("required", [])), list(schema.get("enum", []))
    for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        _, sub = _resolve(part)
        p, r, e = _merged(sub)
        props.update(p)
        enum += e
        if part in schema.get("allOf", []):
            required |= r
    return props, required, enum


def check(value, schema: dict | str, where: str = "$") -> None:
    """Assert ``value`` fits ``schema`` (a schema object or a component name); see the module docstring."""
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    name, schema = _resolve(schema)
    if value is None or name in FREE_FORM:
        return
    props, required, enum = _merged(schema)
    enum += ENUM_ERRATA.get(name or "", []) if enum else []
    if name == "GraphNode" and isinstance(value, dict) and value.get("type") in NODE_DATA:
        props = props | {"data": NODE_DATA[value["type"]]}
    kind = schema.get("type") or ("object" if props else None)
    if kind in TYPES and not (where.rsplit(".", 1)[-1] in ERRATA and isinstance(value, list)):
        assert isinstance(value, TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool)), (
            f"{where}: {type(value).__name__} where the spec says {kind}"
        )
    if enum:
        assert value in enum, f"{where}: {value!r} not in the spec's enum {enum}"
    if isinstance(value, dict) and props:
        extra = set(value) - set(props)
        assert not extra, f"{where} ({name or 'object'}): properties not in Marquez's spec: {sorted(extra)}"
        missing = required - set(value)
        assert not missing, f"{where} ({name or 'object'}): required properties missing: {sorted(missing)}"
        for key, item in value.items():
            check(item, PROPERTY_SCHEMAS.get((name, key), props[key]), f"{where}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")
