"""PII propagation along column lineage.

Rules (docs/lineage.md): a column's live (suggested or confirmed) classification of entity type
E that was not itself propagated -- or a propagated one a steward confirmed -- is an *origin*.
E flows from an origin along column edges, breadth first (so the recorded path is a shortest
one), and stops at an edge that masks, anonymizes or is an OpenLineage ``INDIRECT`` transformation
(unless a steward allowed that edge; ``lineage.models.edge_stops``), at an edge a steward
blocked, and at a column where E was rejected. Every column reached gets a
``propagated`` classification whose evidence names the origin and the path (column ids and edge
ids). A recompute withdraws propagated labels whose grounds vanished; labels a steward decided
are never withdrawn. All writes of a recompute go through ``catalog.bulk`` in one transaction.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.permissions import CHANGE
from catalog.bulk import Suggestion, classifications_suggest_bulk
from catalog.choices import ClassificationSource, ClassificationState
from catalog.models import Classification
from core.types import Actor
from lineage.graph import cache

ACTOR = "custos:propagation"
LIVE = (ClassificationState.SUGGESTED, ClassificationState.CONFIRMED)


def propagate_from_columns_on_commit(*, column_ids: Iterable[int], entity_types: Iterable[str] | None = None) -> None:
    """Schedule a recompute downstream of ``column_ids`` once the current transaction commits."""
    ids, types = set(column_ids), set(entity_types) if entity_types is not None else None
    transaction.on_commit(lambda: propagation_recompute(column_ids=ids, entity_types=types, actor=ACTOR))


def _is_origin(row: dict[str, Any]) -> bool:
    if row["state"] not in LIVE:
        return False
    return row["source"] != ClassificationSource.PROPAGATED or row["state"] == ClassificationState.CONFIRMED


@dataclass
class PropagationPlan:
    """What a recompute writes: labels to create or refresh (changed evidence only), ids of
    propagated labels to withdraw, and how many labels the rules expect in the region."""

    suggestions: list[Suggestion] = field(default_factory=list)
    withdraw: list[int] = field(default_factory=list)
    expected: int = 0


def propagation_recompute(
    *, column_ids: Iterable[int], actor: Actor | str = ACTOR, entity_types: Iterable[str] | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Bring the propagated classifications downstream of ``column_ids`` in line with the rules.

    Only columns downstream of ``column_ids`` change; origins anywhere upstream of them count.
    Writes go through ``catalog.bulk.classifications_suggest_bulk``: one transaction, one audit
    event per created, refreshed or withdrawn classification, one coalesced signal.
    Returns counts ``{"created": n, "refreshed": n, "withdrawn": n}``; ``dry_run`` only plans
    (``{"planned": n}``: labels that would be created or refreshed) and writes nothing. A user as
    ``actor`` needs ``change``; by default the propagation component acts (after a checked write).
    """
    from lineage.services import check_actor

    check_actor(actor, CHANGE, "classifications")
    plan = propagation_plan(column_ids=column_ids, entity_types=entity_types)
    if dry_run:
        return {"planned": plan.expected}
    # Catalog writes happen outside the graph lock: they may read the graph again (signals).
    return classifications_suggest_bulk(
        source=ClassificationSource.PROPAGATED,
        suggestions=plan.suggestions,
        actor=actor,
        withdraw=plan.withdraw,
        withdraw_reason="propagation grounds vanished upstream",
    )


def propagation_plan(*, column_ids: Iterable[int], entity_types: Iterable[str] | None = None) -> PropagationPlan:
    """The writes that would bring the region downstream of ``column_ids`` in line (reads only)."""
    with cache.reading() as graphs:
        graph = graphs.columns
        succ, pred = graph._succ, graph._pred
        starts = [f"column:{c}" for c in column_ids if f"column:{c}" in succ]
        region: set[str] = set()
        queue = deque(starts)
        while queue:
            for nxt in succ[queue.popleft()]:
                if nxt not in region:
                    region.add(nxt)
                    queue.append(nxt)
        if not region:
            return PropagationPlan()
        # Origins that can reach the region do so over non-stopping edges only: walk back over those.
        scope = set(region) | set(starts)
        queue = deque(scope)
        while queue:
            node = queue.popleft()
            for prv, data in pred[node].items():
                if prv not in scope and not data["stop"]:
                    scope.add(prv)
                    queue.append(prv)
        types = (
            set(entity_types)
            if entity_types is not None
            else set(Classification.objects.filter(state__in=LIVE).values_list("entity_type", flat=True).distinct())
        )
        fields = ("id", "column_id", "entity_type", "source", "state", "decided_at", "confidence", "sensitivity", "evidence")
        # Live findings and every rejection of those types (PII columns are few next to the graph),
        # kept when inside the scope; then the propagated labels currently in the region.
        rows = [
            r
            for r in Classification.objects.filter(entity_type__in=types)
            .exclude(source=ClassificationSource.PROPAGATED, state=ClassificationState.SUGGESTED)
            .values(*fields)
            if f"column:{r['column_id']}" in scope
        ]
        propagated = Classification.objects.filter(entity_type__in=types, source=ClassificationSource.PROPAGATED)
        if len(region) <= 20000:
            propagated = propagated.filter(column_id__in=[int(k[7:]) for k in region])
        seen_ids = {r["id"] for r in rows}
        rows += [r for r in propagated.values(*fields) if r["id"] not in seen_ids and f"column:{r['column_id']}" in region]
        by_type: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_type.setdefault(row["entity_type"], []).append(row)
        plans: list[tuple[str, dict[int, dict], dict[int, dict]]] = []
        for entity_type, type_rows in sorted(by_type.items()):
            origins = {r["column_id"]: r for r in sorted(type_rows, key=lambda r: r["id"]) if _is_origin(r)}
            rejected = {r["column_id"] for r in type_rows if r["state"] == ClassificationState.REJECTED}
            existing = {
                r["column_id"]: r
                for r in type_rows
                if r["source"] == ClassificationSource.PROPAGATED and f"column:{r['column_id']}" in region
            }
            parent: dict[str, tuple[str, int]] = {}
            root: dict[str, int] = {}
            queue = deque()
            for column_id in origins:
                node = f"column:{column_id}"
                if node in succ:
                    root[node] = column_id
                    queue.append(node)
            while queue:
                node = queue.popleft()
                for nxt, data in succ[node].items():
                    if data["stop"] or nxt in root or nxt not in scope:
                        continue
                    column_id = int(nxt[7:])
                    if column_id in rejected:
                        continue
                    root[nxt] = root[node]
                    parent[nxt] = (node, data["id"])
                    queue.append(nxt)
            expected: dict[int, dict] = {}
            for node, origin_column in root.items():
                column_id = int(node[7:])
                if node not in region or column_id in origins:
                    continue
                path, edges, cursor = [column_id], [], node
                while cursor in parent:
                    cursor, edge_id = parent[cursor]
                    path.append(int(cursor[7:]))
                    edges.append(edge_id)
                origin = origins[origin_column]
                expected[column_id] = {
                    "origin": {
                        "classification_id": origin["id"],
                        "column_id": origin_column,
                        "source": origin["source"],
                        "state": origin["state"],
                    },
                    "path": path[::-1],
                    "edges": edges[::-1],
                    "_confidence": origin["confidence"],
                    "_sensitivity": origin["sensitivity"],
                }
            plans.append((entity_type, expected, existing))
    result = PropagationPlan(expected=sum(len(expected) for _, expected, _ in plans))
    for entity_type, expected, existing in plans:
        for column_id, plan in expected.items():
            confidence, sensitivity = plan.pop("_confidence"), plan.pop("_sensitivity")
            old = existing.get(column_id)
            if old is not None and old["evidence"] == plan:
                continue
            result.suggestions.append(
                Suggestion(
                    column_id=column_id, entity_type=entity_type, evidence=plan, confidence=confidence, sensitivity=sensitivity
                )
            )
        result.withdraw += [
            old["id"] for column_id, old in existing.items() if column_id not in expected and old["decided_at"] is None
        ]
    return result
