"""``batch_log`` (ADD): production inputs and predictions, or late labels, written as a Parquet file
through compliance.datasets under the first data root (``monitoring/model-version-<id>/``)."""

from __future__ import annotations

import hashlib
import uuid

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import ADD, require
from audit import services as audit
from compliance import datasets
from core.types import Actor
from monitoring.choices import BatchKind, BatchSource
from monitoring.models import LoggedBatch

from ._common import check_visible, user_or_none

MAX_BATCH_ROWS = 1_000_000


def batch_dir(model_version) -> str:
    return str(datasets.data_roots()[0] / "monitoring" / f"model-version-{model_version.pk}")


def batch_log(
    *,
    actor: Actor | str,
    model_version,
    rows: pd.DataFrame,
    kind: str = BatchKind.PREDICTIONS,
    source: str = BatchSource.API,
    id_column: str = "prediction_id",
    label_column: str = "label",
    after_commit=None,
) -> LoggedBatch:
    """Store ``rows``. A labels batch holds ``id_column`` and ``label_column`` only; a predictions batch
    needs ``id_column`` when labels are to be joined later (ids must be unique within the batch).
    ``after_commit(batch)`` runs once the row is committed (a monitor run on new data)."""
    require(actor, ADD, "logged batches")
    check_visible(actor, model_version=model_version)
    if kind not in BatchKind.values:
        raise ValidationError({"kind": "predictions or labels"})
    if rows.empty:
        raise ValidationError("the batch has no rows")
    if len(rows) > MAX_BATCH_ROWS:
        raise ValidationError(f"at most {MAX_BATCH_ROWS} rows per batch")
    if kind == BatchKind.LABELS:
        missing = [c for c in (id_column, label_column) if c not in rows.columns]
        if missing:
            raise ValidationError(f"a labels batch needs the column(s) {', '.join(missing)}")
        rows = rows[[id_column, label_column]]
    if id_column in rows.columns and rows[id_column].duplicated().any():
        raise ValidationError(f"{id_column} repeats within the batch")
    rows = rows.reset_index(drop=True)
    for name in rows.columns:  # JSON rows arrive as object columns: keep numbers numeric
        if rows[name].dtype == object:
            converted = pd.to_numeric(rows[name], errors="coerce")
            if converted.notna().sum() == rows[name].notna().sum():
                rows[name] = converted
            else:
                rows[name] = rows[name].astype("string").astype(object).where(rows[name].notna(), None)
    target = datasets.resolve_output(f"{batch_dir(model_version)}/{kind}-{uuid.uuid4().hex}.parquet")
    target.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        loc = datasets.write_frame(rows, target)
    except (datasets.WriteError, ValueError, TypeError) as exc:
        raise ValidationError(f"the batch could not be written: {type(exc).__name__}") from None
    digest = hashlib.sha256(loc.path.read_bytes()).hexdigest()
    batch = LoggedBatch(
        model_version=model_version,
        kind=kind,
        source=source,
        location=str(loc.path),
        rows=len(rows),
        columns=[str(c) for c in rows.columns],
        sha256=digest,
        created_by=user_or_none(actor),
    )
    batch.full_clean()
    with transaction.atomic():
        batch.save()
        audit.record(
            actor=actor,
            action="monitoring.batch_log",
            target=batch,
            details={"model_version": model_version.pk, "kind": kind, "rows": batch.rows, "sha256": digest, "source": source},
        )
        if after_commit is not None:
            transaction.on_commit(lambda: after_commit(batch))
    return batch


UPLOAD_FORMATS = {"csv", "parquet"}


def batch_log_file(*, actor: Actor | str, model_version, data: bytes, file_format: str, **kwargs) -> LoggedBatch:
    """``batch_log`` for an uploaded CSV or Parquet file: the bytes are put inside the data roots (the
    location rule checked first), read back through compliance.datasets, logged, and the upload removed."""
    from monitoring.data import read_typed_frame

    require(actor, ADD, "logged batches")
    if file_format not in UPLOAD_FORMATS:
        raise ValidationError({"file": "a CSV or Parquet file"})
    target = datasets.resolve_output(f"{batch_dir(model_version)}/upload-{uuid.uuid4().hex}.{file_format}")
    target.path.parent.mkdir(parents=True, exist_ok=True)
    target.path.write_bytes(data)
    try:
        rows = read_typed_frame(target)
    except (datasets.ReadError, ValueError, OSError) as exc:
        raise ValidationError({"file": f"the file could not be read as {file_format}: {type(exc).__name__}"}) from None
    finally:
        target.path.unlink(missing_ok=True)
    return batch_log(actor=actor, model_version=model_version, rows=rows, source=BatchSource.UPLOAD, **kwargs)
