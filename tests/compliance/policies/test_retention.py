"""Retention enforcement: dry run first, then exactly the expired rows go, each action audited,
legal holds honoured."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from compliance import datasets
from compliance.policies import services
from compliance.policies.models import RetentionRun
from compliance.retention import holds
from compliance.retention import services as retention

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def events_table(n: int = 200) -> pd.DataFrame:
    """Rows dated from 400 days before NOW to NOW, in mixed formats, plus one unparseable date."""
    rows = []
    for i in range(n):
        when = NOW - timedelta(days=400) + timedelta(days=2 * i, hours=i % 24)
        text = when.strftime("%Y-%m-%dT%H:%M:%SZ") if i % 3 else when.strftime("%Y-%m-%d %H:%M:%S")
        rows.append({"event_id": f"E{i:04d}", "email": f"user{i}@example.org", "amount": str(i * 3), "created_at": text})
    rows.append({"event_id": "E9999", "email": "x@example.org", "amount": "1", "created_at": "unknown"})
    return pd.DataFrame(rows)


def expected_ids(frame: pd.DataFrame, days: int) -> tuple[set[str], set[str]]:
    cutoff = pd.Timestamp(NOW - timedelta(days=days))
    parsed = pd.to_datetime(frame["created_at"], errors="coerce", utc=True, format="mixed")
    expired = parsed < cutoff
    return set(frame.loc[expired, "event_id"]), set(frame.loc[~expired, "event_id"])


@pytest.fixture
def retention_setup(file_asset, users):
    def make(action: str = "delete_rows", days: int = 180, fmt: str = "csv", **config):
        frame = events_table()
        asset = file_asset(frame, f"events_{action}", fmt=fmt)
        policy = services.policy_create(
            actor=users["steward"],
            name=f"events {days}d {action} {fmt}",
            kind="retention",
            config={"max_age_days": days, "date_column": "created_at", "action": action, **config},
            assets=[asset],
        )
        return frame, asset, policy

    return make


def read(asset) -> pd.DataFrame:
    path = datasets.resolve_asset(asset).path
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_retention_run_deletes_exactly_the_expired_rows(retention_setup, users, fmt):
    frame, asset, policy = retention_setup(fmt=fmt)
    expired, kept = expected_ids(frame, 180)
    assert expired and kept and "E9999" in kept  # an unparseable date is never treated as expired
    run = retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    remaining = read(asset)
    assert set(remaining["event_id"]) == kept
    assert len(remaining) == len(kept)
    survivors = frame[frame["event_id"].isin(kept)].reset_index(drop=True)
    assert remaining.astype(str).reset_index(drop=True)[survivors.columns].equals(survivors.astype(str))
    item = run.report["items"][0]
    assert item["outcome"] == "done" and item["expired_rows"] == len(expired) and item["unparsed_dates"] == 1
    event = AuditEvent.objects.get(action="policies.retention.delete_rows", target_id=str(asset.pk))
    assert event.details["rows_affected"] == len(expired) and event.details["policy_id"] == policy.pk
    assert event.details["rows_digest"] and "@example.org" not in str(event.details)


def test_a_dry_run_counts_and_changes_nothing(retention_setup, users):
    frame, asset, _ = retention_setup()
    before = datasets.resolve_asset(asset).path.read_bytes()
    run = retention.retention_enforce(actor=users["steward"], dry_run=True, now=NOW)
    assert datasets.resolve_asset(asset).path.read_bytes() == before
    expired, _ = expected_ids(frame, 180)
    assert run.report["items"][0]["expired_rows"] == len(expired) and run.report["items"][0]["outcome"] == "would_delete_rows"
    assert not AuditEvent.objects.filter(action="policies.retention.delete_rows").exists()
    assert AuditEvent.objects.filter(action="policies.retention.finish", details__dry_run=True).exists()


def test_a_legal_hold_blocks_deletion_and_the_block_is_recorded(retention_setup, users):
    frame, asset, _ = retention_setup()
    hold = holds.legal_hold_place(asset=asset, reference="CASE-2026-17", actor=users["steward"], reason="litigation")
    before = datasets.resolve_asset(asset).path.read_bytes()
    run = retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    assert datasets.resolve_asset(asset).path.read_bytes() == before
    assert run.report["items"][0]["outcome"] == "blocked_by_legal_hold"
    assert AuditEvent.objects.filter(action="policies.retention.blocked", target_id=str(asset.pk)).exists()
    holds.legal_hold_release(hold=hold, actor=users["steward"], reason="case closed")
    retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    assert len(read(asset)) == len(expected_ids(frame, 180)[1])


def test_archive_moves_the_expired_rows_out_and_keeps_them(retention_setup, users, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    frame, asset, _ = retention_setup(action="archive", days=90)
    expired, kept = expected_ids(frame, 90)
    retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    assert set(read(asset)["event_id"]) == kept
    event = AuditEvent.objects.get(action="policies.retention.archive")
    archived = pd.read_csv(settings.VAR_DIR / event.details["archive"], dtype=str)
    assert set(archived["event_id"]) == expired


def test_anonymize_rows_keeps_the_rows_but_not_their_identifiers(retention_setup, users):
    frame, asset, _ = retention_setup(action="anonymize_rows", days=180, profile="hipaa-safe-harbor")
    expired, kept = expected_ids(frame, 180)
    run = retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    assert run.report["items"][0]["outcome"] == "done", run.report
    after = read(asset)
    assert len(after) == len(frame)
    old_rows = after[~after["event_id"].isin(kept)]
    assert len(old_rows) == len(expired)
    assert not old_rows["email"].str.contains("@").any()
    assert (after[after["event_id"].isin(kept)]["email"] == frame[frame["event_id"].isin(kept)]["email"].to_numpy()).all()


def test_the_command_dry_run_then_enforce(retention_setup):
    frame, asset, _ = retention_setup(days=30)
    out = io.StringIO()
    call_command("retention_enforce", "--dry-run", stdout=out)
    assert "DRY RUN" in out.getvalue() and "would_delete_rows" in out.getvalue()
    call_command("retention_enforce", stdout=io.StringIO())
    assert RetentionRun.objects.filter(dry_run=False, status="succeeded").exists()
    parsed = pd.to_datetime(read(asset)["created_at"], errors="coerce", utc=True, format="mixed")
    assert (parsed.dropna() >= pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30, minutes=5)).all()


def test_the_beat_task_is_scheduled():
    from config.celery import app

    entry = app.conf.beat_schedule["policies-retention-enforce"]
    assert entry["task"] == "policies.retention_enforce"


def test_retention_deletes_exactly_the_expired_rows_of_a_sqlite_table(tmp_path, users):
    import sqlite3

    from catalog import services as catalog_services

    frame = events_table()
    db = tmp_path / "events.db"
    with sqlite3.connect(db) as conn:
        frame.to_sql("events", conn, index=False)
    source = catalog_services.source_ensure(namespace=f"sqlite://{db}", actor="test", kind="sqlite")
    asset = catalog_services.asset_register(
        actor="test", source=source, qualified_name="events", location=f"sqlite:///{db}#events"
    )
    catalog_services.columns_sync(asset=asset, columns=[{"name": c} for c in frame.columns], actor="test")
    services.policy_create(
        actor=users["steward"],
        name="events table 180d",
        kind="retention",
        config={"max_age_days": 180, "date_column": "created_at", "action": "delete_rows"},
        assets=[asset],
    )
    expired, kept = expected_ids(frame, 180)
    dry = retention.retention_enforce(actor=users["steward"], dry_run=True, now=NOW)
    assert dry.report["items"][0]["expired_rows"] == len(expired)
    retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    with sqlite3.connect(db) as conn:
        remaining = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    assert remaining == kept
    assert AuditEvent.objects.get(action="policies.retention.delete_rows").details["rows_affected"] == len(expired)


def test_a_system_component_can_place_a_hold_and_request_a_grant(file_asset, users):
    asset = file_asset(pd.DataFrame({"a": ["1"]}), "sys")
    hold = holds.legal_hold_place(asset=asset, reference="AUTO-1", actor="custos:ediscovery", reason="imported hold")
    assert (
        hold.created_by is None
        and AuditEvent.objects.filter(action="policies.legal_hold.place", actor_id="custos:ediscovery").exists()
    )
    grant = services.grant_request(user=users["viewer"], asset=asset, purpose="research", actor="custos:portal")
    assert grant.requested_by is None and grant.state == "requested"


def test_kept_rows_are_written_back_exactly_as_stored(file_asset, users):
    """Read through compliance.datasets, rewritten without turning ``NA``/``None``/``-`` into blanks."""
    frame = events_table()
    frame.loc[frame.index[-5:], "amount"] = ["NA", "None", "-", "null", ""]
    asset = file_asset(frame, "events_na")
    path = datasets.resolve_asset(asset).path
    services.policy_create(
        actor=users["steward"],
        name="events na",
        kind="retention",
        config={"max_age_days": 180, "date_column": "created_at", "action": "delete_rows"},
        assets=[asset],
    )
    retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    _, kept = expected_ids(frame, 180)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert set(written["event_id"]) == kept
    expected = frame[frame["event_id"].isin(kept)].reset_index(drop=True)
    assert written.reset_index(drop=True).equals(expected)


def test_a_file_it_cannot_write_back_unchanged_is_counted_and_left_alone(file_asset, users, tmp_path):
    frame = events_table()
    asset = file_asset(frame, "events_semicolon")
    path = datasets.resolve_asset(asset).path
    frame.to_csv(path, index=False, sep=";")
    before = path.read_bytes()
    services.policy_create(
        actor=users["steward"],
        name="events semicolon",
        kind="retention",
        config={"max_age_days": 180, "date_column": "created_at", "action": "delete_rows"},
        assets=[asset],
    )
    dry = retention.retention_enforce(actor=users["steward"], dry_run=True, now=NOW)
    expired, _ = expected_ids(frame, 180)
    assert dry.report["items"][0]["expired_rows"] == len(expired)
    run = retention.retention_enforce(actor=users["steward"], dry_run=False, now=NOW)
    (item,) = run.report["items"]
    assert item["outcome"] == "error" and "counted, not changed" in item["note"]
    assert path.read_bytes() == before
    assert not AuditEvent.objects.filter(action="policies.retention.delete_rows").exists()
