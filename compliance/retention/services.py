"""``retention_enforce``: apply every enabled retention policy to the assets it covers.

A dry run only counts. A real run records one audit event per action (rows deleted, archived or
anonymized, with counts and a keyed digest of the affected rows) in the same transaction that
commits the rewritten file or table, as its last step, so nothing is destroyed without its event.
Active legal holds block every destructive action (``policies.retention.blocked``); asset-age
policies flag only. Data is reached only through :mod:`compliance.datasets`: an asset whose
location the rule refuses is an ``error`` item (``LocationRefused``), nothing is opened.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, require
from audit.services import record
from catalog.choices import AssetStatus
from catalog.models import DataAsset
from compliance import datasets
from compliance.access.masking import classified_columns
from compliance.policies import profiles, selectors
from compliance.policies.actions.evaluate import evaluate_assets_async
from compliance.policies.choices import DESTRUCTIVE_ACTIONS, RetentionAction
from compliance.policies.models import Policy, RetentionRun
from compliance.retention import files
from compliance.retention.tables import enforce_table
from core.choices import RunStatus
from core.types import Actor


def retention_targets() -> list[tuple[Policy, DataAsset]]:
    """(policy, asset) for every enabled retention policy and every live asset in its scope; a row
    policy covers only assets whose cataloged columns include its date column."""
    pairs = []
    assets = list(DataAsset.objects.exclude(status=AssetStatus.DELETED).select_related("source"))
    for policy in selectors.retention_policies().prefetch_related("assets", "domains"):
        scoped_assets = {a.pk for a in policy.assets.all()}
        scoped_domains = {d.pk for d in policy.domains.all()}
        for asset in assets:
            if scoped_assets and asset.pk not in scoped_assets:
                continue
            if scoped_domains and asset.domain_id not in scoped_domains:
                continue
            if policy.entity_types:
                held = {e for es in classified_columns(asset).values() for e in es}
                if not set(policy.entity_types) & held:
                    continue
            if policy.config.get("date_column") and not asset.columns.filter(name=policy.config["date_column"]).exists():
                continue
            pairs.append((policy, asset))
    return pairs


def _summary(items: list[dict[str, Any]]) -> dict[str, int]:
    def rows(action: str) -> int:
        return sum(i.get("expired_rows", 0) for i in items if i["outcome"] == "done" and i["action"] == action)

    return {
        "assets": len({i["asset_id"] for i in items}),
        "expired_rows": sum(i.get("expired_rows", 0) for i in items),
        "rows_deleted": rows(RetentionAction.DELETE_ROWS),
        "rows_archived": rows(RetentionAction.ARCHIVE),
        "rows_anonymized": rows(RetentionAction.ANONYMIZE_ROWS),
        "blocked_by_legal_hold": sum(1 for i in items if i["outcome"] == "blocked_by_legal_hold"),
        "errors": sum(1 for i in items if i["outcome"] == "error"),
    }


def retention_enforce(*, actor: Actor | str, dry_run: bool = True, now: datetime | None = None) -> RetentionRun:
    """One retention pass (see the module doc); needs ``decide``. Audited as
    ``policies.retention.start``/``.finish`` plus one event per action taken."""
    require(actor, DECIDE, "retention runs (a steward decision)")
    now = now or timezone.now()
    with transaction.atomic():
        run = RetentionRun(
            dry_run=dry_run,
            status=RunStatus.RUNNING,
            started_by=actor if getattr(actor, "pk", None) else None,
            started_at=timezone.now(),
        )
        run.full_clean()
        run.save()
        record(actor=actor, action="policies.retention.start", target=run, details={"dry_run": dry_run})
    items = [_enforce_one(run, policy, asset, actor=actor, dry_run=dry_run, now=now) for policy, asset in retention_targets()]
    summary = _summary(items)
    with transaction.atomic():
        run.report = {"now": now.isoformat(), "items": items, "summary": summary}
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.full_clean()
        run.save()
        record(actor=actor, action="policies.retention.finish", target=run, details={"dry_run": dry_run, **summary})
    transaction.on_commit(lambda: evaluate_assets_async({i["asset_id"] for i in items}))
    return run


def _blocked(item: dict, *, actor, asset, policy, held: list, expired_rows: int, run) -> None:
    """A legal hold stopped a destructive retention action: say so in the report and the ledger."""
    item.update({"outcome": "blocked_by_legal_hold", "legal_hold_ids": held})
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.retention.blocked",
            target=asset,
            reason="legal hold",
            details={"policy_id": policy.pk, "legal_hold_ids": held, "expired_rows": expired_rows, "retention_run_id": run.pk},
        )


def _flag(*, actor, asset, policy, run, **details) -> None:
    with transaction.atomic():
        record(
            actor=actor,
            action="policies.retention.flag",
            target=asset,
            details={"policy_id": policy.pk, **details, "retention_run_id": run.pk},
        )


def _enforce_one(run: RetentionRun, policy: Policy, asset: DataAsset, *, actor, dry_run: bool, now: datetime) -> dict[str, Any]:
    config = policy.config
    cutoff = now - timedelta(days=config["max_age_days"])
    action = config["action"]
    item: dict[str, Any] = {
        "policy_id": policy.pk,
        "asset_id": asset.pk,
        "action": action,
        "max_age_days": config["max_age_days"],
        "cutoff": cutoff.isoformat(),
        "date_column": config.get("date_column"),
    }
    held = list(selectors.active_holds(asset).values_list("pk", flat=True))
    if not config.get("date_column"):
        expired = asset.created_at < cutoff
        item.update({"basis": "asset age", "expired": expired, "expired_rows": 0, "outcome": "flagged" if expired else "ok"})
        if expired and not dry_run:
            _flag(actor=actor, asset=asset, policy=policy, run=run)
        return item
    try:
        loc = datasets.resolve_asset(asset)
    except datasets.LocationRefused as exc:
        if asset.location:
            item.update({"outcome": "error", "error": "LocationRefused", "note": exc.rule})
        else:
            item.update({"outcome": "skipped", "note": "no location"})
        return item

    def blocked_fn(entry, *, expired_rows):
        _blocked(entry, actor=actor, asset=asset, policy=policy, held=held, expired_rows=expired_rows, run=run)

    if loc.is_table:
        return enforce_table(
            run, policy, asset, item, loc, held=held, actor=actor, dry_run=dry_run, cutoff=cutoff, blocked_fn=blocked_fn
        )
    blocked = bool(held) and action in DESTRUCTIVE_ACTIONS
    profile = (
        profiles.resolve({"profile": config.get("profile", "hipaa-safe-harbor")})
        if action == RetentionAction.ANONYMIZE_ROWS
        else None
    )
    suffix = "".join(Path(loc.path).suffixes)
    archive_to = Path(settings.VAR_DIR) / "retention-archive" / str(asset.pk) / f"run{run.pk}-policy{policy.pk}{suffix}"
    try:
        prepared = files.scan(
            loc,
            config,
            cutoff,
            prepare=not (dry_run or blocked or action == RetentionAction.FLAG),
            archive_to=archive_to,
            profile=profile,
        )
    except (ValidationError, datasets.ReadError, datasets.WriteError, OSError, ValueError) as exc:
        item.update({"outcome": "error", "error": type(exc).__name__})
        if isinstance(exc, ValidationError):
            item["note"] = "; ".join(exc.messages)  # rule messages: they name no value or path
        return item
    counts = prepared.counts
    item.update(counts)
    if dry_run:
        item["outcome"] = (
            "would_block" if blocked and counts["expired_rows"] else ("would_" + action if counts["expired_rows"] else "ok")
        )
        return item
    if not counts["expired_rows"]:
        item["outcome"] = "ok"
        return item
    if blocked:
        blocked_fn(item, expired_rows=counts["expired_rows"])
        return item
    if action == RetentionAction.FLAG:
        item["outcome"] = "flagged"
        _flag(actor=actor, asset=asset, policy=policy, run=run, expired_rows=counts["expired_rows"])
        return item
    details = {
        "policy_id": policy.pk,
        "retention_run_id": run.pk,
        "rows_before": counts["rows"],
        "rows_affected": counts["expired_rows"],
        "cutoff": cutoff.isoformat(),
        "date_column": config["date_column"],
        "rows_digest": files.row_digest(prepared.ids),
    }
    if action == RetentionAction.ARCHIVE:
        details["archive"] = str(archive_to.relative_to(settings.VAR_DIR))
    try:
        with transaction.atomic():
            record(actor=actor, action=f"policies.retention.{action}", target=asset, details=details)
            prepared.commit()  # the destructive step is the last thing inside the transaction
    except Exception as exc:  # noqa: BLE001 - the event rolled back; the item says what failed
        prepared.abort()
        item.update({"outcome": "error", "error": type(exc).__name__})
        return item
    item["outcome"] = "done"
    return item
