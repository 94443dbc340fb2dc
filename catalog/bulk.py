"""Bulk catalog writes: the outcome and audit trail of many single-row services, in a few statements.

For machine-made classifications that arrive by the hundred (PII propagation along lineage):
each function validates, writes every row, keeps django-simple-history's rows, and appends one
audit event per changed row (:func:`audit.services.record_many`) in one transaction, then sends
ONE ``classifications_changed`` signal after commit instead of one ``classification_changed``
per row, so receivers work once per batch (policies: once per asset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.permissions import ADD, CHANGE, require
from audit.services import record_many
from catalog import signals
from catalog.choices import ClassificationSource, ClassificationState, Sensitivity
from catalog.models import Classification, Column

CHUNK = 5000  # ids per IN (...) list: far below SQLite's bound-parameter limit
BATCH = 500  # rows per INSERT/UPDATE statement


@dataclass(frozen=True)
class Suggestion:
    """One classification a machine asserts: ``entity_type`` on column ``column_id``."""

    column_id: int
    entity_type: str
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    sensitivity: str = Sensitivity.CONFIDENTIAL


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def classifications_suggest_bulk(
    *,
    source: str,
    suggestions: Sequence[Suggestion],
    actor: Any,
    withdraw: Iterable[int] = (),
    withdraw_reason: str = "",
) -> dict[str, int]:
    """Create or refresh many ``source`` classifications and withdraw others, in one transaction.

    Row for row the same as ``catalog.services.classification_suggest`` for each suggestion (a
    new row is ``suggested``; an existing one keeps its state and gets the new confidence and
    evidence) and ``classification_withdraw`` for each id in ``withdraw`` (ids already gone are
    skipped; a steward-made or steward-decided row refuses the whole batch). Audited with the same
    events: ``catalog.classification.suggest`` / ``.refresh`` / ``.withdraw``, one per row, with
    the same details (ids, entity type, source, state, confidence; never values). History rows
    ``+`` / ``~`` / ``-`` as a save or delete would write. After commit, one
    ``classifications_changed`` signal lists every change. Returns ``{"created", "refreshed",
    "withdrawn"}`` counts. Needs ADD (and CHANGE to withdraw) when ``actor`` is a user.
    """
    if not isinstance(actor, str):  # a user (a system component's name is code, not a request)
        require(actor, ADD, "classifications")
        if withdraw:
            require(actor, CHANGE, "classifications")
    keys = [(s.column_id, s.entity_type) for s in suggestions]
    if len(set(keys)) != len(keys):
        raise ValidationError("a column and entity type may appear only once per batch")
    withdraw_ids = sorted(set(withdraw))
    stats = {"created": 0, "refreshed": 0, "withdrawn": 0}
    if not suggestions and not withdraw_ids:
        return stats
    created_by = actor if getattr(actor, "pk", None) else None
    now = timezone.now()
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    with transaction.atomic():
        column_ids = sorted({s.column_id for s in suggestions})
        asset_of: dict[int, int] = {}
        existing: dict[tuple[int, str], Classification] = {}
        for chunk in _chunks(column_ids):
            asset_of.update(Column.objects.filter(pk__in=chunk).values_list("pk", "asset_id"))
            for row in Classification.objects.select_for_update().filter(source=source, column_id__in=chunk):
                existing[(row.column_id, row.entity_type)] = row
        missing = sorted(set(column_ids) - asset_of.keys())
        if missing:
            raise ValidationError(f"unknown column id(s): {', '.join(map(str, missing[:5]))}")
        to_create: list[Classification] = []
        to_refresh: list[Classification] = []
        ordered: list[tuple[Classification, bool, float]] = []
        for suggestion in suggestions:
            row = existing.get((suggestion.column_id, suggestion.entity_type))
            if row is None:
                row = Classification(
                    column_id=suggestion.column_id,
                    entity_type=suggestion.entity_type,
                    source=source,
                    state=ClassificationState.SUGGESTED,
                    confidence=suggestion.confidence,
                    sensitivity=suggestion.sensitivity,
                    evidence=suggestion.evidence or {},
                    created_by=created_by,
                )
                to_create.append(row)
            else:
                row.confidence = suggestion.confidence
                row.evidence = suggestion.evidence or {}
                row.updated_at = now  # bulk_update skips auto_now
                to_refresh.append(row)
            ordered.append((row, row.pk is None, suggestion.confidence))
            # Field validators (entity type pattern, choices, confidence range); the column was
            # checked above and uniqueness and the check constraints hold in the database.
            row.clean_fields(exclude=["column", "created_by", "decided_by"])
        if to_create:  # sets each row's pk in place
            bulk_create_with_history(to_create, Classification, batch_size=BATCH, default_date=now)
        if to_refresh:
            bulk_update_with_history(
                to_refresh, Classification, ["confidence", "evidence", "updated_at"], batch_size=BATCH, default_date=now
            )
        for row, new, confidence in ordered:
            events.append(_suggest_event(row, asset_of[row.column_id], confidence, new=new))
            changes.append(_change(row, asset_of[row.column_id], "created" if new else "refreshed"))
        stats["created"], stats["refreshed"] = len(to_create), len(to_refresh)

        if withdraw_ids:
            rows = []
            for chunk in _chunks(withdraw_ids):
                rows += Classification.objects.select_for_update().filter(pk__in=chunk).select_related("column")
            rows.sort(key=lambda r: r.pk)
            refused = [r.pk for r in rows if r.source == ClassificationSource.STEWARD or r.decided_at is not None]
            if refused:
                raise ValidationError(
                    f"a steward-made or steward-decided classification cannot be withdrawn (ids {refused[:5]}); reject it instead"
                )
            for chunk in _chunks([r.pk for r in rows]):
                Classification.objects.filter(pk__in=chunk).delete()  # post_delete writes each "-" history row
            for row in rows:
                events.append(
                    {
                        "action": "catalog.classification.withdraw",
                        "target_type": Classification._meta.label_lower,
                        "target_id": row.pk,
                        "reason": withdraw_reason,
                        "details": {"column_id": row.column_id, "entity_type": row.entity_type, "source": row.source},
                    }
                )
                changes.append(_change(row, row.column.asset_id, "withdrawn"))
            stats["withdrawn"] = len(rows)
        record_many(actor=actor, events=events)
        if changes:
            asset_ids = tuple(sorted({c["asset_id"] for c in changes}))
            frozen = tuple(changes)
            transaction.on_commit(lambda: signals.classifications_changed.send(sender=None, changes=frozen, asset_ids=asset_ids))
    return stats


def _suggest_event(row: Classification, asset_id: int, confidence: float, *, new: bool) -> dict[str, Any]:
    return {
        "action": "catalog.classification.suggest" if new else "catalog.classification.refresh",
        "target": row,
        "details": {
            "column_id": row.column_id,
            "asset_id": asset_id,
            "entity_type": row.entity_type,
            "source": row.source,
            "state": row.state,
            "confidence": round(confidence, 4),
        },
    }


def _change(row: Classification, asset_id: int, change: str) -> dict[str, Any]:
    return {
        "classification_id": row.pk,
        "column_id": row.column_id,
        "asset_id": asset_id,
        "entity_type": row.entity_type,
        "source": row.source,
        "state": row.state,
        "change": change,
    }
