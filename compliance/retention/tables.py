"""Retention on database tables (SQLite files in a data root, registered PostgreSQL sources).

Rows are addressed by ``rowid``/``ctid`` through :class:`compliance.datasets.TableHandle`;
``delete_rows`` and ``flag`` are supported, ``archive`` and ``anonymize_rows`` are file-only.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from compliance import datasets
from compliance.policies.choices import DESTRUCTIVE_ACTIONS, RetentionAction
from compliance.retention.files import expired_mask, row_digest


def enforce_table(
    run, policy, asset, item: dict[str, Any], loc: datasets.Location, *, held, actor, dry_run: bool, cutoff: datetime, blocked_fn
) -> dict[str, Any]:
    action = policy.config["action"]
    try:
        table = datasets.TableHandle(loc)
        frame = table.keyed_column(policy.config["date_column"])
    except Exception as exc:  # noqa: BLE001 - reported per item, never the connection string
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    expired = expired_mask(frame["value"], cutoff).to_numpy(dtype=bool)
    keys = frame.loc[expired, "key"].tolist()
    unparsed = int(pd.to_datetime(frame["value"].astype(object), errors="coerce", utc=True, format="mixed").isna().sum())
    item.update({"rows": int(len(frame)), "expired_rows": len(keys), "unparsed_dates": unparsed})
    blocked = bool(held) and action in DESTRUCTIVE_ACTIONS
    if dry_run or not keys or action not in (RetentionAction.DELETE_ROWS, RetentionAction.FLAG) or blocked:
        table.close(commit=False)
        if dry_run:
            item["outcome"] = ("would_block" if blocked else "would_" + action) if keys else "ok"
        elif not keys:
            item["outcome"] = "ok"
        elif blocked:
            blocked_fn(item, expired_rows=len(keys))
        elif action != RetentionAction.FLAG:
            item.update(
                {"outcome": "skipped", "note": f"{action} is not supported for database tables (delete_rows and flag are)"}
            )
        return item
    if action == RetentionAction.FLAG:
        table.close(commit=False)
        item["outcome"] = "flagged"
        with transaction.atomic():
            record(
                actor=actor,
                action="policies.retention.flag",
                target=asset,
                details={"policy_id": policy.pk, "expired_rows": len(keys), "retention_run_id": run.pk},
            )
        return item
    try:
        with transaction.atomic():
            record(
                actor=actor,
                action="policies.retention.delete_rows",
                target=asset,
                details={
                    "policy_id": policy.pk,
                    "retention_run_id": run.pk,
                    "rows_before": int(len(frame)),
                    "rows_affected": len(keys),
                    "cutoff": cutoff.isoformat(),
                    "date_column": policy.config["date_column"],
                    "rows_digest": row_digest(keys),
                },
            )
            deleted = table.delete(keys)
            if deleted != len(keys):
                raise ValidationError("the table changed during the run")
            table.close(commit=True)  # last step: if it fails, the event rolls back
    except Exception as exc:  # noqa: BLE001
        with contextlib.suppress(Exception):  # already closed after a failed commit
            table.close(commit=False)
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    item["outcome"] = "done"
    return item
