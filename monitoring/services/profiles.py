"""``reference_profile_create`` (ADD): profile a reference once, in chunks, and store it as JSON."""

from __future__ import annotations

import hashlib

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import ADD, require
from audit import services as audit
from compliance import datasets
from core.types import Actor
from monitoring.data import retype_text_columns
from monitoring.models import ReferenceProfile
from monitoring.stats.kinds import ColumnKind, infer_kind
from monitoring.stats.profile import DatasetProfile

from ._common import check_visible, user_or_none

CHUNK_ROWS = 250_000


def reference_profile_create(
    *,
    actor: Actor | str,
    model_version,
    name: str,
    asset=None,
    location: str | None = None,
    batches: list | None = None,
    columns: list[str] | None = None,
    kinds: dict[str, str] | None = None,
) -> ReferenceProfile:
    """Read the reference -- a cataloged ``asset``, a data ``location``, or a chosen window of production
    data (prediction ``batches`` of this model version) -- once, chunk by chunk through compliance.datasets,
    and store its mergeable profile. Column kinds are declared or inferred on the first chunk, so every
    chunk is profiled alike. The digest covers the rows as read (pandas row hashes)."""
    require(actor, ADD, "reference profiles")
    check_visible(actor, model_version=model_version, asset=asset)
    if sum(x is not None for x in (asset, location, batches)) != 1:
        raise ValidationError("give one of an asset, a location or prediction batches")
    if batches is not None:
        if not batches or any(b.model_version_id != model_version.pk or b.kind != "predictions" for b in batches):
            raise ValidationError({"batches": "prediction batches of this model version"})
        sources = [datasets.resolve(b.location) for b in sorted(batches, key=lambda b: b.pk)]
        label = f"batches {min(b.pk for b in batches)}..{max(b.pk for b in batches)} ({len(batches)})"
    try:
        if batches is None:
            sources = [datasets.resolve_asset(asset) if asset is not None else datasets.resolve(location)]
            label = f"asset {asset.pk}" if asset is not None else sources[0].label
        digest = hashlib.sha256()
        resolved: dict[str, ColumnKind] | None = None
        profile: DatasetProfile | None = None
        chunks = ((loc, c) for loc in sources for c in datasets.read_chunks(loc, columns=columns, chunk_rows=CHUNK_ROWS))
        for loc, chunk in chunks:
            chunk = retype_text_columns(chunk) if loc.format == "csv" else chunk
            if resolved is None:
                names = columns or list(chunk.columns)
                missing = [c for c in names if c not in chunk.columns]
                if missing:
                    raise ValidationError({"columns": f"the reference has no column(s) {', '.join(missing)}"})
                resolved = {c: ColumnKind((kinds or {}).get(c) or infer_kind(chunk[c])) for c in names}
            digest.update(pd.util.hash_pandas_object(chunk[list(resolved)], index=False).to_numpy().tobytes())
            part = DatasetProfile.from_frame(chunk, kinds=resolved, columns=list(resolved))
            profile = part if profile is None else profile.merge(part)
    except datasets.ReadError as exc:
        raise ValidationError(f"the reference could not be read: {type(exc).__name__}") from None
    except ValueError as exc:
        raise ValidationError(str(exc).splitlines()[0]) from None
    if profile is None:
        raise ValidationError("the reference has no rows")
    row = ReferenceProfile(
        model_version=model_version,
        name=name,
        source_asset=asset,
        source_label=label[:500],
        rows=profile.rows,
        columns=list(profile.columns),
        profile=profile.to_json(),
        dataset_sha256=digest.hexdigest(),
        created_by=user_or_none(actor),
    )
    row.full_clean()
    with transaction.atomic():
        row.save()
        audit.record(
            actor=actor,
            action="monitoring.reference_profile_create",
            target=row,
            details={
                "model_version": model_version.pk,
                "rows": row.rows,
                "columns": len(row.columns),
                "dataset_sha256": row.dataset_sha256,
                "asset": asset.pk if asset is not None else None,
                "batches": len(batches) if batches is not None else 0,
            },
        )
    return row
