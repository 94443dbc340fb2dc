"""Dataset facets an event carries -> the catalog: ``schema`` registers columns, ``ownership``
sets owners that match Custos users, ``tags`` tag assets and columns (a ``pii`` tag becomes an
imported classification), ``symlinks`` identifiers become aliases of the asset
(:func:`lineage.openlineage.resolve.aliases_ensure`), ``documentation`` sets the asset's
description -- unless a steward wrote one, then it is kept as a suggestion. Every facet,
interpreted or not, is kept on :class:`DatasetFacets` (newest event wins per facet name)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog import services as catalog
from catalog.choices import ClassificationSource
from catalog.models import Classification, Column, DataAsset
from lineage.models import DatasetFacets
from lineage.openlineage.context import EventStats, Intake
from lineage.openlineage.resolve import aliases_ensure, symlink_identifiers
from lineage.openlineage.validation import Event, digest_of, tag_name

ENTITY_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


def merge_facets(holder: Any, facets: dict, at: datetime) -> list[str]:
    """Take each facet from the event unless a newer event already set it; returns changed names.

    ``holder`` is any row with ``facets`` and ``facet_times`` (job, run, dataset facets)."""
    stamp = at.isoformat()
    changed = []
    for name, facet in facets.items():
        if holder.facet_times.get(name, "") > stamp:
            continue
        if facet.get("_deleted") is True:
            if name in holder.facets:
                del holder.facets[name]
                changed.append(name)
        elif holder.facets.get(name) != facet:
            holder.facets[name] = facet
            changed.append(name)
        holder.facet_times[name] = stamp
    return changed


def flatten_fields(fields: list[dict], prefix: str = "") -> list[dict]:
    """Schema fields as catalog columns: nested fields become ``parent.child``."""
    out = []
    for item in fields:
        name = f"{prefix}{item['name']}"
        out.append({"name": name, "data_type": item.get("type") or "", "description": item.get("description") or ""})
        out += flatten_fields(item.get("fields") or [], prefix=f"{name}.")
    return out


def apply_dataset_facets(intake: Intake, asset_id: int, facets: dict, event: Event, *, stats: EventStats) -> None:
    """Merge a dataset's facets into its :class:`DatasetFacets` row and apply what changed."""
    if not facets:
        return
    known = intake.batch.facet_digests.get(id(facets)) if intake.batch is not None else None
    seen_key, digest = ("dataset", asset_id), known or digest_of(facets)
    if intake.was_seen(seen_key, digest):
        return
    stats.seen[seen_key] = digest
    held = intake.batch.dataset_facets if intake.batch is not None else None  # a batch's fast path
    holder = held.get(asset_id) if held is not None else None
    if holder is None:
        holder, _ = DatasetFacets.objects.get_or_create(asset_id=asset_id)
        if held is not None:
            held[asset_id] = holder
    changed = merge_facets(holder, facets, event.event_time)
    if not changed:
        return
    if held is not None:  # a batch's fast path: written with the batch (batch.flush_held)
        holder.updated_at = timezone.now()
        intake.batch.changed_facets[asset_id] = holder
    else:
        holder.save(update_fields=["facets", "facet_times", "updated_at"])
    if "schema" in changed and "schema" in holder.facets:
        synced = catalog.columns_sync(
            asset=DataAsset(pk=asset_id), columns=flatten_fields(holder.facets["schema"].get("fields", [])), actor=intake.actor
        )
        columns = intake.batch_columns
        if columns is not None:
            columns[asset_id] = synced
    if "symlinks" in changed:
        aliases_ensure(intake, asset_id, symlink_identifiers(holder.facets), stats=stats)
    if "documentation" in changed and "documentation" in holder.facets:
        _apply_documentation(intake, holder, holder.facets["documentation"].get("description", ""), stats=stats)
    if "ownership" in changed and "ownership" in holder.facets:
        _apply_ownership(intake, asset_id, holder.facets["ownership"].get("owners", []))
    if "tags" in changed and "tags" in holder.facets:
        _apply_tags(intake, asset_id, holder.facets["tags"].get("tags", []), event, stats=stats)


def _apply_documentation(intake: Intake, holder: DatasetFacets, text: str, *, stats: EventStats) -> None:
    """The facet's text becomes the asset's description (``catalog.asset_update``, audited) when
    the description is empty or is what intake last wrote; otherwise a steward wrote it, and the
    text is kept as ``suggested_description`` for them to take or leave."""
    asset = DataAsset.objects.get(pk=holder.asset_id)
    if asset.description == text:
        holder.applied_description, holder.suggested_description = text, ""
    elif asset.description in ("", holder.applied_description):
        catalog.asset_update(asset=asset, actor=intake.actor, description=text, reason="OpenLineage documentation facet")
        holder.applied_description, holder.suggested_description = text, ""
        stats.descriptions += 1
    else:
        holder.suggested_description = text
        stats.description_suggestions += 1
    holder.save(update_fields=["applied_description", "suggested_description", "updated_at"])


def _owner_usernames(owners: list[dict]) -> set[str]:
    names = set()
    for owner in owners:
        name = owner.get("name", "")
        names.add(name.split(":", 1)[1] if name.startswith("user:") else name)
    return names


def _apply_ownership(intake: Intake, asset_id: int, owners: list[dict]) -> None:
    from accounts.models import User

    users = list(User.objects.filter(username__in=_owner_usernames(owners)))
    asset = DataAsset.objects.get(pk=asset_id)
    if users and set(asset.owners.values_list("pk", flat=True)) != {u.pk for u in users}:
        catalog.asset_set_owners(asset=asset, owners=users, actor=intake.actor)


def _apply_tags(intake: Intake, asset_id: int, tags: list[dict], event: Event, *, stats: EventStats) -> None:
    actor = intake.actor
    asset = DataAsset.objects.get(pk=asset_id)
    columns = {c.name: c for c in Column.objects.filter(asset_id=asset_id)}
    asset_tags: set[int] = set()
    column_tags: dict[str, set[int]] = {}
    for item in tags:
        key, value, field_name = item["key"], item.get("value", ""), item.get("field")
        if key.lower() == "pii" and field_name in columns and ENTITY_TYPE.match(value):
            column = columns[field_name]
            if not Classification.objects.filter(column=column, entity_type=value, source=ClassificationSource.IMPORTED).exists():
                catalog.classification_suggest(
                    column=column,
                    entity_type=value,
                    source=ClassificationSource.IMPORTED,
                    actor=actor,
                    evidence={"openlineage": {"producer": event.producer, "tag_source": str(item.get("source", ""))[:100]}},
                )
                stats.classifications_imported += 1
            continue
        tag = catalog.tag_ensure(name=tag_name(item), actor=actor)
        if field_name:
            if field_name in columns:
                column_tags.setdefault(field_name, set()).add(tag.pk)
        else:
            asset_tags.add(tag.pk)
    if asset_tags - set(asset.tags.values_list("pk", flat=True)):
        catalog.asset_update(asset=asset, actor=actor, tags=sorted(asset_tags | set(asset.tags.values_list("pk", flat=True))))
    for name, tag_ids in column_tags.items():
        column = columns[name]
        have = set(column.tags.values_list("pk", flat=True))
        if tag_ids - have:
            catalog.column_update(column=column, actor=actor, tags=sorted(tag_ids | have))
