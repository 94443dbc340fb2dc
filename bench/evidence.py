"""Evidence bundle at scale: a catalog of 10,000 assets and a ledger of 1,000,000 events.

Measures in one run:

* export: ``compliance.evidence.services.export_build`` for the whole log (every event in the
  bundle, the catalog as of now, lineage, report, manifest and signature)
  baseline: zipping the very same member bytes with the same compression (the floor for
  writing this bundle) and a bare SHA-256 over them;
* verification: the shipped ``verify.py``'s ``verify_bundle`` (``verifier.load()``) on that bundle (digests, signature, every leaf
  rehashed, the root rebuilt, citations)
  baseline: reading (inflating) every member and a bare SHA-256 over the bytes (the floor for
  checking digests), plus the same for RFC 6962 leaf hashes over the event bodies.

Usage: .venv/bin/python bench/evidence.py [--database-url ...] [--assets 10000] [--events 1000000]
Default database: a fresh SQLite file under var/. Setup rows (catalog, ledger) are inserted with
bulk_create (bench setup only: the product writes through audited services); ledger rows are
built exactly as the sequencer builds them (canonical bodies, leaf hashes, stored subtrees), so
the log verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'var' / 'bench_evidence.sqlite3'}")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the database and key of the previous run (skip the setup)")
    return parser.parse_args()


def setup_django(database_url: str, work: Path, *, reuse: bool) -> None:
    os.environ["CUSTOS_ENV"] = "development"
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = database_url
    # One signing key per bench database, kept next to it so that --reuse finds the key that signed its checkpoints.
    db_name = database_url.rsplit("/", 1)[-1].removesuffix(".sqlite3") or "bench"
    os.environ["CUSTOS_LEDGER_KEY_FILE"] = str(REPO / "var" / f"{db_name}.key")
    os.environ["CUSTOS_LEDGER_SEQUENCE_ON_COMMIT"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if reuse:
        pass
    elif database_url.startswith("sqlite:///"):
        Path(os.environ["CUSTOS_LEDGER_KEY_FILE"]).unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        base, name = database_url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.conf import settings

    settings.MEDIA_ROOT = str(work / "media")


def secs(seconds: float) -> str:
    return f"{seconds:8.2f} s"


# --- setup ---------------------------------------------------------------------------------------


def build_catalog(n_assets: int, rng: random.Random) -> list[int]:
    from simple_history.utils import bulk_create_with_history

    from catalog.models import Classification, Column, DataAsset, DataSource, MLModel, ModelVersion
    from lineage.models import Edge

    sources = bulk_create_with_history(
        [DataSource(name=f"source-{i}", kind="postgresql", namespace=f"postgres://db{i}:5432") for i in range(20)], DataSource
    )
    sources = list(DataSource.objects.order_by("id"))
    assets = [
        DataAsset(
            source=sources[i % len(sources)],
            qualified_name=f"schema{i % 50}.table_{i}",
            name=f"table_{i}",
            sensitivity=rng.choice(["internal", "confidential", "restricted"]),
            processing_purposes=["Service delivery"] if i % 3 else [],
            legal_basis="contract" if i % 4 else "",
            data_subject_categories=["Customers"],
            recipients=["Processor"] if i % 2 else [],
            retention_days=365 * (1 + i % 7) if i % 5 else None,
            storage_country="DE",
        )
        for i in range(n_assets)
    ]
    bulk_create_with_history(assets, DataAsset, batch_size=2000)
    asset_ids = list(DataAsset.objects.order_by("id").values_list("id", flat=True))
    columns = [Column(asset_id=a, name=f"col_{j}", position=j, data_type="text") for a in asset_ids for j in range(8)]
    bulk_create_with_history(columns, Column, batch_size=5000)
    pii_types = ["EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON", "US_SSN", "HEALTH_DATA", "CREDIT_CARD", "IP_ADDRESS"]
    column_rows = list(Column.objects.filter(position__lt=3).values_list("id", "asset_id"))
    classifications = [
        Classification(
            column_id=cid, entity_type=pii_types[(cid + aid) % len(pii_types)], source="scan", state="confirmed", confidence=0.9
        )
        for cid, aid in column_rows
        if aid % 5 < 2
    ]
    bulk_create_with_history(classifications, Classification, batch_size=5000)
    model = MLModel.objects.create(name="bench-model")
    versions = bulk_create_with_history(
        [ModelVersion(model=model, version=f"{v}.0", stage="production") for v in range(5)], ModelVersion
    )
    versions = list(ModelVersion.objects.order_by("id"))
    from django.utils import timezone

    now = timezone.now()
    edges = []
    for i in range(1, len(asset_ids)):
        edges.append(
            Edge(
                kind="consumes",
                src_type="asset",
                src_id=asset_ids[i // 2],
                dst_type="job",
                dst_id=i,
                valid_from=now,
                changed_version=1,
                last_seen_at=now,
            )
        )
    for i, v in enumerate(versions):
        edges.append(
            Edge(
                kind="trained_on",
                src_type="asset",
                src_id=asset_ids[i * 7],
                dst_type="model_version",
                dst_id=v.pk,
                valid_from=now,
                changed_version=1,
                last_seen_at=now,
            )
        )
    Edge.objects.bulk_create(edges, batch_size=5000)
    return asset_ids


def build_ledger(n_events: int, asset_ids: list[int]) -> None:
    """``n_events`` events sequenced exactly as ``audit.sequencer`` would: event, entry and every
    complete subtree of 16 leaves and up."""
    from django.db import transaction

    from audit import verify_core
    from audit.canonical import event_body, from_micros
    from audit.models import STORED_MIN_LEVEL, AuditEvent, LedgerEntry, LedgerNode

    start_us = 1_767_225_600_000_000  # 2026-01-01
    step = 25_000_000  # ~ one event every 25 s across the year
    actions = ["catalog.asset.update", "catalog.classification.confirm", "policies.access.decide", "lineage.openlineage.ingest"]
    leaves: list[bytes] = []
    batch = 20_000
    for first in range(0, n_events, batch):
        events, entries = [], []
        for seq in range(first, min(first + batch, n_events)):
            time_us = start_us + seq * step
            details = {"asset_id": asset_ids[seq % len(asset_ids)], "n": seq}
            action = actions[seq % len(actions)]
            body = event_body(
                time_us=time_us,
                actor_type="user",
                actor_id=str(1 + seq % 40),
                action=action,
                target_type="catalog.dataasset",
                target_id=str(asset_ids[seq % len(asset_ids)]),
                reason="",
                details=details,
            )
            leaf = verify_core.leaf_hash(body)
            leaves.append(leaf)
            events.append(
                AuditEvent(
                    id=seq + 1,
                    occurred_at=from_micros(time_us),
                    actor_type="user",
                    actor_id=str(1 + seq % 40),
                    action=action,
                    target_type="catalog.dataasset",
                    target_id=str(asset_ids[seq % len(asset_ids)]),
                    details=details,
                    body=body,
                    leaf_hash=leaf,
                )
            )
            entries.append(LedgerEntry(seq=seq, event_id=seq + 1, body=body, leaf_hash=leaf))
        with transaction.atomic():
            AuditEvent.objects.bulk_create(events)
            LedgerEntry.objects.bulk_create(entries)
    fix_sequences()
    levels = verify_core.perfect_levels(leaves)
    nodes = [
        LedgerNode(level=lv, index=ix, hash=h) for lv in range(STORED_MIN_LEVEL, len(levels)) for ix, h in enumerate(levels[lv])
    ]
    with transaction.atomic():
        LedgerNode.objects.bulk_create(nodes, batch_size=20_000)


def fix_sequences() -> None:
    """Events were inserted with explicit ids: move PostgreSQL's id sequence past them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), (SELECT MAX(id) FROM audit_auditevent))"
            )


# --- baselines -----------------------------------------------------------------------------------


def members(bundle: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(bundle) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def zip_same_bytes(items: list[tuple[zipfile.ZipInfo, bytes]], out: Path) -> float:
    began = time.perf_counter()
    sha = hashlib.sha256
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as archive:
        for info, data in items:
            sha(data).hexdigest()
            archive.writestr(info.filename, data)
    return time.perf_counter() - began


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="custos-bench-evidence-"))
    setup_django(args.database_url, work, reuse=args.reuse)
    from django.core.management import call_command

    from audit import keys
    from audit.services import checkpoint_create

    if args.reuse:
        from audit.models import LedgerEntry
        from catalog.models import DataAsset

        signer = keys.load_signer()
        fix_sequences()
        print(f"setup: reusing {DataAsset.objects.count():,} assets and {LedgerEntry.objects.count():,} ledger events")
    else:
        call_command("migrate", verbosity=0, skip_checks=True)
        Path(os.environ["CUSTOS_LEDGER_KEY_FILE"]).unlink(missing_ok=True)
        signer, _ = keys.generate_key(name="custos.local/ledger")
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        asset_ids = build_catalog(args.assets, rng)
        t1 = time.perf_counter()
        build_ledger(args.events, asset_ids)
        t2 = time.perf_counter()
        checkpoint_create(actor="bench")
        print(f"setup: {args.assets:,} assets ({secs(t1 - t0)}), {args.events:,} ledger events ({secs(t2 - t1)}) [not measured]")

    from compliance.evidence import services, verifier

    shipped = verifier.load()  # the verify.py a bundle ships, built from audit/verify_core.py

    began = time.perf_counter()
    export = services.export_request(actor="bench", run_async=False)
    export = services.export_build(export_id=export.pk)
    export_time = time.perf_counter() - began
    assert export.status == "succeeded", export.error
    bundle = Path(export.file_path)

    began = time.perf_counter()
    problems, summary = shipped.verify_bundle(bundle, signer.verifier.vkey)
    verify_time = time.perf_counter() - began
    assert not problems, problems[:5]

    items = members(bundle)
    raw = sum(len(data) for _, data in items)
    zip_time = zip_same_bytes(items, work / "baseline.zip")
    began = time.perf_counter()
    for _, data in items:
        hashlib.sha256(data).digest()
    sha_time = time.perf_counter() - began
    began = time.perf_counter()
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            hashlib.sha256(archive.read(info)).digest()
    read_sha_time = time.perf_counter() - began
    import base64
    import json

    events = next(data for info, data in items if info.filename == "ledger/events.jsonl")
    bodies = [base64.b64decode(json.loads(line)["body"]) for line in events.splitlines()]
    began = time.perf_counter()
    for body in bodies:
        hashlib.sha256(b"\x00" + body).digest()
    leaf_time = time.perf_counter() - began

    from django.db import connection

    print(
        f"database: {connection.vendor}; bundle {bundle.stat().st_size / 1e6:.1f} MB zipped, {raw / 1e6:.1f} MB of members, {len(items)} files"
    )
    print(f"  {summary[:160]}...")
    print("export (10,000-asset catalog, 1,000,000-event range):" if args.events == 1_000_000 else "export:")
    print(f"  export_build (whole bundle)                 {secs(export_time)}")
    print(f"  baseline: zip the same bytes (deflate 6)     {secs(zip_time)}   ratio {export_time / zip_time:.2f}x")
    print(f"  baseline: bare sha256 over the same bytes    {secs(sha_time)}")
    print("verification (verify.py on that bundle):")
    print(f"  verify_bundle                                {secs(verify_time)}")
    print(f"  baseline: inflate + sha256 every member      {secs(read_sha_time)}   ratio {verify_time / read_sha_time:.2f}x")
    print(f"  baseline: bare RFC 6962 leaf hashes          {secs(leaf_time)}")


if __name__ == "__main__":
    main()
