"""The writes Marquez's API allows, as Custos services: tagging a dataset or a field, creating a
tag, and the namespace and dataset ``PUT`` (upserts).

Each checks the actor's role itself (``accounts.permissions.require``: ``change`` to tag or
update, ``add`` to create) and, in the same transaction, goes through the catalog services
(which check and audit their own rows) and appends one ``lineage.marquez.*`` audit event naming
the Marquez call, with ids and counts only (a namespace's ``ownerName`` is not stored or
audited: it names a person or team Custos does not know). Jobs and runs are not written this way
in Custos: they come from OpenLineage events (``POST /marquez/api/v1/lineage``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.permissions import ADD, CHANGE, require
from audit.services import record
from catalog import services as catalog
from catalog.choices import AssetKind
from catalog.models import Column, DataAsset, DataSource, Tag
from core.types import Actor
from lineage.models import Job
from lineage.openlineage.resolve import ASSET_KINDS, source_kind_for


def _tag_names(tags: Any, what: str) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ValueError(f"{what}: must be a list of tag names")
    return tags


def marquez_namespace_put(*, actor: Actor, name: str, description: str | None = None) -> None:
    """``PUT /namespaces/{namespace}``: a dataset namespace (``DataSource``) is created if neither
    datasets nor jobs use the name yet (``add``); an existing source gets the description
    (``change``). A job-only namespace has nowhere to keep a description and is left as it is."""
    source = DataSource.objects.filter(namespace=name).first()
    require(actor, CHANGE if source is not None else ADD, "namespaces")
    if description is not None and not isinstance(description, str):
        raise ValueError("description: must be a string")
    with transaction.atomic():
        created = False
        if source is None and not Job.objects.filter(namespace=name).exists():
            source = catalog.source_ensure(namespace=name, actor=actor, kind=source_kind_for(name))
            created = True
        if source is not None and description is not None and description != source.description:
            catalog.source_update(source=source, actor=actor, description=description)
        record(
            actor=actor,
            action="lineage.marquez.namespace_put",
            target_type="catalog.datasource" if source else "lineage.job",
            target_id=source.pk if source else 0,
            details={"created": created, "description_set": description is not None},
        )


def marquez_dataset_put(*, actor: Actor, namespace: str, name: str, body: dict[str, Any]) -> DataAsset:
    """``PUT /namespaces/{namespace}/datasets/{dataset}`` (Marquez's DbTable/Stream body): the
    asset is registered if unknown (``add``), else updated (``change``); ``fields`` are synced as
    columns (none removed), ``tags`` and field ``tags`` added, ``description`` set."""
    if not isinstance(body, dict):
        raise ValueError("request body: must be an object")
    existing = DataAsset.objects.filter(source__namespace=namespace, qualified_name=name).first()
    require(actor, CHANGE if existing is not None else ADD, "datasets")
    fields = body.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields):
        raise ValueError("fields: must be a list of objects with a name")
    tags = _tag_names(body.get("tags"), "tags")
    for i, f in enumerate(fields):
        _tag_names(f.get("tags"), f"fields[{i}].tags")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError("description: must be a string")
    with transaction.atomic():
        kind = source_kind_for(namespace)
        source = catalog.source_ensure(namespace=namespace, actor=actor, kind=kind)
        stream = body.get("type") == "STREAM"
        asset, created = catalog.asset_ensure(
            source=source,
            qualified_name=name,
            actor=actor,
            kind=AssetKind.STREAM if stream else ASSET_KINDS.get(kind, AssetKind.TABLE),
        )
        columns = catalog.columns_sync(
            asset=asset,
            columns=[
                {"name": f["name"], "data_type": f.get("type") or "", "description": f.get("description") or ""} for f in fields
            ],
            actor=actor,
        )
        changes: dict[str, Any] = {}
        if tags:
            have = set(asset.tags.values_list("pk", flat=True))
            wanted = have | {catalog.tag_ensure(name=t, actor=actor).pk for t in tags}
            if wanted != have:
                changes["tags"] = sorted(wanted)
        if description is not None and description != asset.description:
            changes["description"] = description
        if changes:
            catalog.asset_update(asset=asset, actor=actor, reason="Marquez dataset PUT", **changes)
        for f in fields:
            for tag in f.get("tags") or []:
                _column_tag(columns[f["name"]], tag, actor)
        record(
            actor=actor,
            action="lineage.marquez.dataset_put",
            target=asset,
            details={"created": created, "fields": len(fields), "tags": len(tags)},
        )
    return asset


def _column_tag(column: Column, tag_name: str, actor: Actor) -> bool:
    have = set(column.tags.values_list("pk", flat=True))
    tag = catalog.tag_ensure(name=tag_name, actor=actor)
    if tag.pk in have:
        return False
    catalog.column_update(column=column, actor=actor, tags=sorted(have | {tag.pk}))
    return True


def marquez_dataset_tag(*, actor: Actor, asset: DataAsset, tag_name: str, field: str | None = None) -> DataAsset:
    """``POST .../datasets/{dataset}/tags/{tag}`` or ``.../fields/{field}/tags/{tag}`` (``change``):
    the tag (created if unknown, as Marquez does) is added to the asset or the column. ``LookupError``
    for an unknown field."""
    require(actor, CHANGE, "datasets")
    if not tag_name:
        raise ValueError("tag: must not be empty")
    with transaction.atomic():
        if field is None:
            have = set(asset.tags.values_list("pk", flat=True))
            tag = catalog.tag_ensure(name=tag_name, actor=actor)
            changed = tag.pk not in have
            if changed:
                catalog.asset_update(asset=asset, actor=actor, reason="Marquez tag", tags=sorted(have | {tag.pk}))
        else:
            column = asset.columns.filter(name=field).first()
            if column is None:
                raise LookupError("no such dataset field")
            changed = _column_tag(column, tag_name, actor)
        record(
            actor=actor,
            action="lineage.marquez.tag",
            target=asset,
            details={"field": field is not None, "changed": changed},
        )
    return asset


def marquez_tag_put(*, actor: Actor, name: str, description: str | None = None) -> Tag:
    """``PUT /tags/{tag}``: the tag is created (``add``) or its description set (``change``)."""
    tag = Tag.objects.filter(name=name).first()
    require(actor, CHANGE if tag is not None else ADD, "tags")
    if description is not None and not isinstance(description, str):
        raise ValueError("description: must be a string")
    with transaction.atomic():
        created = tag is None
        tag = tag or catalog.tag_create(actor=actor, name=name, description=description or "")
        if not created and description is not None and description != tag.description:
            tag = catalog.tag_update(tag=tag, actor=actor, description=description)
        record(actor=actor, action="lineage.marquez.tag_put", target=tag, details={"created": created})
    return tag
