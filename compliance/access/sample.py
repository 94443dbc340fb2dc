"""``asset_sample_read``: the first rows of an asset, as the reader's access decision allows.

Rows are read only through :mod:`compliance.datasets` (the location rule is applied at read time,
so an asset pointing at the app's database or outside the data roots is refused with 400). With
``allow_masked`` every column named in the decision's ``masked_columns`` (every name a classified
column of the asset ever had, :mod:`compliance.access.masking`), every column whose name says it
identifies someone and, on a restricted asset, every column nobody has classified (unknown
sensitivity: ``masking.unreviewed_columns``) is replaced by a keyed HMAC token.
"""

from __future__ import annotations

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import VIEW, require
from audit.services import record
from catalog.models import DataAsset
from compliance import datasets
from compliance.access import masking
from compliance.access.decisions import access_decide
from compliance.access.rules import Decision
from compliance.policies import operators, profiles
from core.types import Actor

MAX_ROWS = 200


def _named_identifiers(columns) -> list[str]:
    """Columns whose name says they identify someone (not yet scanned); dates and ages excepted."""
    named = []
    for column in map(str, columns):
        entity = profiles.name_hint(column)[1]
        if entity in profiles.HIPAA_SAFE_HARBOR["entity_types"] and entity not in ("DATE_TIME", "AGE"):
            named.append(column)
    return named


def asset_sample_read(*, actor: Actor, asset: DataAsset, purpose: str, limit: int = 20) -> tuple[Decision, pd.DataFrame | None]:
    """Up to ``limit`` (1..200) rows of ``asset`` for ``actor`` reading for ``purpose``. The decision
    and the read are both audited (``policies.access.decide`` channel ``sample``,
    ``policies.asset.sample_read``); a denied read returns no rows."""
    require(actor, VIEW, "asset samples")
    decision = access_decide(user=actor, asset=asset, purpose=purpose, actor=actor, channel="sample")
    if decision.effect == "deny":
        return decision, None
    try:
        frame = datasets.read_frame(asset, limit=max(1, min(limit, MAX_ROWS)))
    except (datasets.ReadError, OSError, ValueError) as exc:
        raise ValidationError({"asset": f"cannot read the asset's data ({type(exc).__name__})"}) from exc
    if decision.effect == "allow_masked":
        decision.masked_columns = sorted(
            set(decision.masked_columns)
            | set(_named_identifiers(frame.columns))
            | set(masking.unreviewed_columns(asset, frame.columns))
        )
        ctx = operators.Context(reference_year=timezone.now().year)
        for column in decision.masked_columns:
            if column in frame.columns:
                frame[column] = operators.apply(frame[column].astype(object), {"operator": "hmac", "length": 12}, ctx)
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.asset.sample_read",
            target=asset,
            details={
                "purpose": purpose,
                "effect": decision.effect,
                "rows": int(len(frame)),
                "masked_columns": decision.masked_columns,
            },
        )
    return decision, frame.reset_index(drop=True)
