"""Which columns of an asset's data are masked, and the sensitivity an access decision uses.

Masking follows *classified columns*, not today's column names:

* every catalog column that belongs to the asset now, **or ever did** (the column's history: a
  classified column moved to another asset still describes data in this asset's file), and
* under **every name the column has had** (``catalog.selectors.column_names_ever``): the data
  source still has the column under the name it had when it was classified, renamed or not;
* classifications that are not rejected (suggested ones count: masking errs on the safe side).

The sensitivity a decision uses is never below ``catalog.selectors.asset_sensitivity_floor``
(the highest confirmed classification), whatever the asset's ``sensitivity`` field says.

On a **restricted** asset a column whose sensitivity is unknown is masked too (issue 17, item 10:
``ethnicity``, ``blood_type`` and ``marital_status`` came back raw because no scan classified them
and their names hint at no identifier). Known means a steward looked: the column (under any name
it has had) has a classification that was *rejected* -- "not this entity" -- and none that holds.
Every other column of a restricted asset is masked in ``allow_masked`` reads
(:func:`unreviewed_columns`).
"""

from __future__ import annotations

from collections import defaultdict

from catalog.choices import SENSITIVITY_RANK, ClassificationState, Sensitivity
from catalog.models import Classification, Column, DataAsset
from catalog.selectors import asset_sensitivity_floor, column_names_ever


def _column_ids_ever(asset: DataAsset) -> set[int]:
    ids = set(Column.objects.filter(asset=asset).values_list("pk", flat=True))
    history = getattr(Column, "history", None)
    if history is not None:
        ids |= set(history.filter(asset_id=asset.pk).values_list("id", flat=True))
    return ids


def _historic_names(asset: DataAsset, column_ids: set[int]) -> dict[int, set[str]]:
    """Names each column had *while it belonged to this asset* (from the column history)."""
    names: dict[int, set[str]] = defaultdict(set)
    history = getattr(Column, "history", None)
    if history is not None:
        for pk, name in history.filter(asset_id=asset.pk, id__in=column_ids).values_list("id", "name"):
            names[pk].add(name)
    return names


def classified_columns(asset: DataAsset) -> dict[str, set[str]]:
    """{column name as it may appear in the data: entity types} for ``asset`` (see module doc)."""
    column_ids = _column_ids_ever(asset)
    by_column: dict[int, set[str]] = defaultdict(set)
    rows = (
        Classification.objects.filter(column_id__in=column_ids)
        .exclude(state=ClassificationState.REJECTED)
        .values_list("column_id", "entity_type")
    )
    for column_id, entity in rows:
        by_column[column_id].add(entity)
    if not by_column:
        return {}
    historic = _historic_names(asset, set(by_column))
    result: dict[str, set[str]] = defaultdict(set)
    for column in Column.objects.filter(pk__in=by_column):
        for name in {*column_names_ever(column), *historic.get(column.pk, ())}:
            result[name] |= by_column[column.pk]
    return dict(result)


def effective_sensitivity(asset: DataAsset) -> str:
    """``asset.sensitivity``, raised to the floor its confirmed classifications imply."""
    floor = asset_sensitivity_floor(asset)
    current = Sensitivity(asset.sensitivity)
    return str(floor if SENSITIVITY_RANK[floor] > SENSITIVITY_RANK[current] else current)


def reviewed_names(asset: DataAsset) -> set[str]:
    """Every name (current, former, historic) of a column of ``asset`` that has a classification
    row of any state: a column a scan or a steward has looked at."""
    column_ids = _column_ids_ever(asset)
    looked = set(Classification.objects.filter(column_id__in=column_ids).values_list("column_id", flat=True))
    if not looked:
        return set()
    historic = _historic_names(asset, looked)
    names: set[str] = set()
    for column in Column.objects.filter(pk__in=looked):
        names |= {*column_names_ever(column), *historic.get(column.pk, ())}
    return names


def unreviewed_columns(asset: DataAsset, names) -> list[str]:
    """Of ``names`` (the columns a read returned), those whose sensitivity is unknown on a restricted
    asset: no classification row under any name (a held one masks the column anyway; a rejected
    one means a steward looked and found nothing). Empty below restricted."""
    if effective_sensitivity(asset) != Sensitivity.RESTRICTED:
        return []
    known = reviewed_names(asset)
    return [str(n) for n in names if str(n) not in known]
