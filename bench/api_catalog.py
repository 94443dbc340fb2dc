"""Catalog API latency at scale: 10,000 assets with 200,000 columns.

Prints p50/p95 latency and query count of the asset list, asset detail and search endpoints,
served in-process by Django's test client (full middleware, auth, serializers), and the same
reads done as bare ORM ``values()`` queries in the same run as the baseline (ratio = API/ORM).
Search is printed twice: against the asset-only read (the historical baseline) and against the
asset and column reads the answer needs.

Usage: .venv/bin/python bench/api_catalog.py [--assets 10000] [--columns-per-asset 20]
       [--database-url postgres://postgres@127.0.0.1:5432/custos_bench]  (default: a fresh SQLite file)
The bench database is dropped and re-created each run. Setup rows are inserted with bulk_create
(bench setup only: the product never bulk-writes audited models).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--columns-per-asset", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60, help="requests per endpoint")
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'var' / 'bench_api.sqlite3'}")
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database of a previous run if it is loaded")
    return parser.parse_args()


def setup_django(database_url: str, reuse: bool) -> None:
    os.environ["CUSTOS_ENV"] = "test"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if database_url.startswith("sqlite:///") and not reuse:
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    import django

    django.setup()


def reset_postgres(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def load(n_assets: int, per_asset: int):
    from django.core.management import call_command

    from accounts.models import User
    from catalog.models import Classification, Column, DataAsset, DataSource, Domain, Tag

    call_command("migrate", verbosity=0)
    owner = User.objects.create(username="owner", role="steward")
    reader = User.objects.create(username="reader", role="auditor")
    domains = Domain.objects.bulk_create([Domain(name=f"Domain {i}") for i in range(10)])
    tags = Tag.objects.bulk_create([Tag(name=f"tag-{i}") for i in range(50)])
    sources = DataSource.objects.bulk_create(
        [DataSource(name=f"src{i}", kind="postgresql", namespace=f"postgres://db{i}:5432") for i in range(20)]
    )
    t0 = time.perf_counter()
    assets = DataAsset.objects.bulk_create(
        [
            DataAsset(
                source=sources[i % 20],
                qualified_name=f"schema{i % 37}.table_{i}",
                name=f"table_{i}",
                description=f"Table {i} of the warehouse, customer orders and events",
                domain=domains[i % 10],
                sensitivity=["public", "internal", "confidential"][i % 3],
            )
            for i in range(n_assets)
        ],
        batch_size=2000,
    )
    through = DataAsset.tags.through
    through.objects.bulk_create(
        [through(dataasset_id=a.pk, tag_id=tags[(a.pk + k) % 50].pk) for a in assets for k in range(2)], batch_size=5000
    )
    owners = DataAsset.owners.through
    owners.objects.bulk_create([owners(dataasset_id=a.pk, user_id=owner.pk) for a in assets], batch_size=5000)
    names = ["id", "email", "created_at", "amount", "status", "customer_name", "phone", "city", "zip", "notes"]
    columns = []
    for a in assets:
        for p in range(per_asset):
            columns.append(
                Column(asset_id=a.pk, name=f"{names[p % 10]}_{p}", position=p, data_type="text", description="a column")
            )
    Column.objects.bulk_create(columns, batch_size=5000)
    email_cols = Column.objects.filter(name__startswith="email_").values_list("pk", flat=True)
    Classification.objects.bulk_create(
        [Classification(column_id=c, entity_type="EMAIL_ADDRESS", source="scan", confidence=0.9) for c in email_cols],
        batch_size=5000,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum would have them in a live database
    print(f"loaded {n_assets} assets, {len(columns)} columns in {time.perf_counter() - t0:.1f}s", flush=True)
    return reader, [a.pk for a in assets]


def measure(fn, n: int):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    fn()  # warm up
    times, cpu = [], []
    with CaptureQueriesContext(connection) as ctx:
        fn()
    queries = len(ctx.captured_queries)
    for _ in range(n):
        reset_queries()
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries, statistics.median(cpu)


def main() -> None:
    args = parse_args()
    if args.database_url.startswith("postgres") and not args.reuse:
        reset_postgres(args.database_url)
    setup_django(args.database_url, args.reuse)
    from django.db import connection
    from django.db.models import Q
    from rest_framework.test import APIClient

    from accounts.models import User
    from catalog.models import Column, DataAsset

    if args.reuse and DataAsset.objects.count() == args.assets:
        reader, asset_ids = User.objects.get(username="reader"), list(DataAsset.objects.values_list("pk", flat=True))
        print(f"reusing the loaded bench database ({args.assets} assets)")
    else:
        reader, asset_ids = load(args.assets, args.columns_per_asset)
    client = APIClient()
    client.force_authenticate(reader)
    mid = asset_ids[len(asset_ids) // 2]

    def ok(response):
        assert response.status_code == 200, response.content[:300]

    api = {
        "asset list (page 50)": lambda: ok(client.get("/api/v1/assets/", {"page": 7})),
        "asset list filtered (has_pii, domain)": lambda: ok(
            client.get("/api/v1/assets/", {"has_pii": "true", "domain": "Domain 3"})
        ),
        "asset detail (20 columns)": lambda: ok(client.get(f"/api/v1/assets/{mid}/")),
        "search 'table_77'": lambda: ok(client.get("/api/v1/search", {"q": "table_77", "limit": 20})),
        "search 'table_77' (vs assets + columns)": lambda: ok(client.get("/api/v1/search", {"q": "table_77", "limit": 20})),
    }
    orm = {
        "asset list (page 50)": lambda: list(DataAsset.objects.order_by("source_id", "qualified_name").values()[300:350]),
        "asset list filtered (has_pii, domain)": lambda: list(
            DataAsset.objects.filter(domain__name="Domain 3", columns__classifications__isnull=False).values()[:50]
        ),
        "asset detail (20 columns)": lambda: (
            DataAsset.objects.filter(pk=mid).values().first(),
            list(Column.objects.filter(asset_id=mid).values()),
        ),
        "search 'table_77'": lambda: list(
            DataAsset.objects.filter(Q(name__icontains="table_77") | Q(description__icontains="table_77")).values()[:20]
        ),
        # The endpoint also searches every column's name and description (columns of assets whose own
        # text does not match included, since 386843e): this baseline reads what the answer must read.
        "search 'table_77' (vs assets + columns)": lambda: (
            list(DataAsset.objects.filter(Q(name__icontains="table_77") | Q(description__icontains="table_77")).values()[:20]),
            list(Column.objects.filter(Q(name__icontains="table_77") | Q(description__icontains="table_77")).values()[:20]),
        ),
    }
    print(f"database: {connection.vendor}; {args.requests} requests per endpoint")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (cpu ms: this process's CPU time per request,")
    print("in-process SQLite included, so the cpu ratio holds on a busy machine where wall-clock latency does not)")
    head = f"{'endpoint':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} | {'ORM p50':>8} {'ratio':>6}"
    print(f"{head} | {'cpu ms':>7} {'ORM cpu':>7} {'ratio':>6}")
    for name, fn in api.items():
        p50, p95, queries, cpu = measure(fn, args.requests)
        b50, _, _, bcpu = measure(orm[name], args.requests)
        row = f"{name:40} {p50:8.1f} {p95:8.1f} {queries:8d} | {b50:8.1f} {p50 / b50:6.1f}x"
        print(f"{row} | {cpu:7.1f} {bcpu:7.1f} {cpu / bcpu:5.1f}x")


if __name__ == "__main__":
    main()
