"""The ``columnLineage`` facet -> column derivation edge specs (and the columns they need).

The spec's dataset ``lineage`` facet (LineageDatasetFacet) says the same in another shape and
becomes the same edges (:func:`column_lineage_of` merges both): ``fields.<f>.inputs`` DATASET
entries with a ``field`` are ``columnLineage.fields.<f>.inputFields``; top-level ``inputs`` with a
``field`` are ``columnLineage.dataset`` (dataset-wide); DATASET entries without a ``field`` are
whole-dataset inputs (:func:`lineage_dataset_inputs`: the event's job consumes them). JOB entries
are kept with the facet and not interpreted.
"""

from __future__ import annotations

from catalog import services as catalog
from catalog.models import Column, DataAsset
from lineage.choices import INDIRECT, EdgeKind, NodeType
from lineage.openlineage.context import EventStats, Intake
from lineage.openlineage.resolve import asset_for
from lineage.services import EdgeSpec
from lineage.transformations import normalise, summarise


def _live(facets: dict, name: str) -> dict | None:
    facet = facets.get(name)
    return facet if isinstance(facet, dict) and not facet.get("_deleted") else None


def _as_input_field(item: dict) -> dict:
    return {
        "namespace": item["namespace"],
        "name": item["name"],
        "field": item["field"],
        "transformations": item.get("transformations") or [],
    }


def column_lineage_of(facets: dict) -> dict | None:
    """The dataset's column lineage in ``columnLineage``'s shape: that facet merged with the
    ``lineage`` facet's field-level entries (``None`` when neither is there)."""
    column_lineage, explicit = _live(facets, "columnLineage"), _live(facets, "lineage")
    if explicit is None:
        return column_lineage
    fields = {
        out: dict(spec, inputFields=list(spec.get("inputFields", [])))
        for out, spec in ((column_lineage or {}).get("fields") or {}).items()
    }
    wide = list((column_lineage or {}).get("dataset") or [])
    for out, entry in (explicit.get("fields") or {}).items():
        for item in entry.get("inputs") or []:
            if item.get("type") == "DATASET" and item.get("field"):
                fields.setdefault(out, {"inputFields": []})["inputFields"].append(_as_input_field(item))
    wide += [_as_input_field(i) for i in explicit.get("inputs") or [] if i.get("type") == "DATASET" and i.get("field")]
    if not fields and not wide:
        return column_lineage
    return {"fields": fields, "dataset": wide}


def lineage_dataset_inputs(facets: dict) -> list[tuple[str, str]]:
    """``(namespace, name)`` of the ``lineage`` facet's DATASET entries without a field, and of
    every dataset it names at field level (each feeds the dataset as a whole too)."""
    explicit = _live(facets, "lineage")
    if explicit is None:
        return []
    items = list(explicit.get("inputs") or [])
    for entry in (explicit.get("fields") or {}).values():
        items += entry.get("inputs") or []
    return list(dict.fromkeys((i["namespace"], i["name"]) for i in items if i.get("type") == "DATASET"))


def column_specs(
    intake: Intake, output_asset_id: int, facet: dict, *, schema_names: list[str], stats: EventStats
) -> tuple[list[EdgeSpec], set[int]]:
    """Column derivation edges of one output dataset, and the ids of all its columns.

    ``fields`` gives each output column its inputs. ``dataset`` lists inputs that affect the
    whole output (filter, join, group by, sort, window): each becomes an edge to every output
    column the event names (``fields`` keys and ``schema_names``, the output's schema facet). An
    input column the ``fields`` section already links to an output column keeps that edge (the
    field-level statement is the more precise one); one listed twice in ``dataset`` gets one edge
    carrying both entries' transformations. Without transformations, a dataset-wide input counts
    as ``INDIRECT`` (what the spec says such inputs are).
    """
    actor = intake.actor
    fields = facet.get("fields", {})
    out_names = list(fields)
    wide: dict[tuple[str, str, str], dict] = {}  # dataset-wide inputs, merged per input column
    for item in facet.get("dataset") or []:
        ref = (item["namespace"], item["name"], item["field"])
        transformations = item.get("transformations") or []
        if ref in wide:
            wide[ref]["transformations"] = wide[ref]["transformations"] + transformations
        else:
            wide[ref] = item | {"transformations": transformations}
    if wide:
        out_names += [n for n in dict.fromkeys(schema_names) if n not in fields]
    inputs: dict[int, set[str]] = {}
    per_output: list[tuple[str, int, dict]] = []
    for out_name, spec in fields.items():
        for item in spec.get("inputFields", []):
            asset_id = asset_for(intake, item["namespace"], item["name"], stats=stats)
            inputs.setdefault(asset_id, set()).add(item["field"])
            per_output.append((out_name, asset_id, item | {"_legacy": spec}))
    for item in wide.values():
        asset_id = asset_for(intake, item["namespace"], item["name"], stats=stats)
        inputs.setdefault(asset_id, set()).add(item["field"])
        legacy = {} if item["transformations"] else {"transformationType": INDIRECT}
        per_output += [(out_name, asset_id, item | {"_legacy": legacy, "_wide": True}) for out_name in out_names]
    # One read for the columns of the output and every input (none when the batch has them);
    # register only what is missing.
    batch_columns = intake.batch_columns
    known: dict[int, dict[str, Column]] = batch_columns if batch_columns is not None else {}
    load_columns(known, [a for a in [output_asset_id, *inputs] if a not in known])
    out_cols = known.get(output_asset_id, {})
    if set(out_names) - out_cols.keys():
        out_cols = known[output_asset_id] = catalog.columns_sync(
            asset=DataAsset(pk=output_asset_id), columns=[{"name": n} for n in out_names], actor=actor
        )
    in_cols = {}
    for asset_id, names in inputs.items():
        have = known.get(asset_id, {})
        if names - have.keys():
            have = known[asset_id] = catalog.columns_sync(
                asset=DataAsset(pk=asset_id), columns=[{"name": n} for n in sorted(names)], actor=actor
            )
        in_cols[asset_id] = have
    specs: list[EdgeSpec] = []
    field_keys: set[tuple] = set()
    for out_name, asset_id, item in per_output:
        # Every transformation is kept; the edge's type and masking follow the safe-side rule
        # (lineage.transformations): one unmasked DIRECT transformation carries PII.
        transformations = normalise(item.get("transformations"), item["_legacy"])
        summary = summarise(transformations)
        spec = EdgeSpec(
            kind=EdgeKind.DERIVES,
            src_type=NodeType.COLUMN,
            src_id=in_cols[asset_id][item["field"]].pk,
            dst_type=NodeType.COLUMN,
            dst_id=out_cols[out_name].pk,
            transformation_type=summary.transformation_type,
            transformation_subtype=summary.transformation_subtype,
            description=summary.description,
            masking=summary.masking,
            transformations=transformations,
        )
        if item.get("_wide"):
            if spec.key in field_keys:
                continue
        else:
            field_keys.add(spec.key)
        specs.append(spec)
    return specs, {c.pk for c in out_cols.values()}


def load_columns(known: dict[int, dict[str, Column]], asset_ids: list[int]) -> None:
    """Add the columns of ``asset_ids`` to ``known`` (asset id -> name -> column), one query."""
    if not asset_ids:
        return
    for asset_id in asset_ids:
        known.setdefault(asset_id, {})
    for column in Column.objects.filter(asset_id__in=asset_ids).only("pk", "asset_id", "name"):
        known[column.asset_id][column.name] = column
