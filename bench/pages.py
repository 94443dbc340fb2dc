"""Catalog page latency at scale: the 10,000-asset, 200,000-column catalog of bench/api_catalog.py.

Prints p50/p95 latency and query count of each catalog page (search with facets, the asset page
with its registered panels, glossary term, domain, tag and people pages), served in-process by
Django's test client with full middleware, session login and template rendering, and in the same
run the API endpoint that returns the same data (the baseline: ratio = page/API). Target: every
page p95 < 300 ms (issue 18).

Usage: .venv/bin/python bench/pages.py [--assets 10000] [--columns-per-asset 20] [--requests 40]
       [--database-url postgres://postgres@127.0.0.1:5432/custos_bench_pages] [--reuse]
(default: a fresh SQLite file var/bench_pages.sqlite3). Setup rows are inserted with bulk_create by
bench/api_catalog.py's builder, plus a glossary term on one asset in ten (bench setup only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import api_catalog  # noqa: E402 - the shared 10,000-asset builder


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--columns-per-asset", type=int, default=20)
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'var' / 'bench_pages.sqlite3'}")
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database of a previous run if it is loaded")
    return parser.parse_args()


def extra_rows(asset_ids: list[int]) -> None:
    """A glossary term on every tenth asset, a steward on every fifth (for the term and people pages)."""
    from accounts.models import User
    from catalog.models import DataAsset, GlossaryTerm

    term = GlossaryTerm.objects.create(name="Customer", description="A person or company that buys from us")
    through = DataAsset.glossary_terms.through
    through.objects.bulk_create([through(dataasset_id=pk, glossaryterm_id=term.pk) for pk in asset_ids[::10]], batch_size=5000)
    steward = User.objects.create(username="stewie", role="steward")
    stewards = DataAsset.stewards.through
    stewards.objects.bulk_create([stewards(dataasset_id=pk, user_id=steward.pk) for pk in asset_ids[::5]], batch_size=5000)


def main() -> None:
    args = parse_args()
    if args.database_url.startswith("postgres") and not args.reuse:
        api_catalog.reset_postgres(args.database_url)
    api_catalog.setup_django(args.database_url, args.reuse)
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from accounts.models import User
    from catalog.models import DataAsset, Domain, GlossaryTerm, Tag

    if args.reuse and DataAsset.objects.count() == args.assets and GlossaryTerm.objects.exists():
        asset_ids = list(DataAsset.objects.values_list("pk", flat=True))
        print(f"reusing the loaded bench database ({args.assets} assets)")
    else:
        _, asset_ids = api_catalog.load(args.assets, args.columns_per_asset)
        extra_rows(asset_ids)
    reader = User.objects.get(username="reader")  # an auditor: sees restricted assets and the ledger history
    viewer, _ = User.objects.get_or_create(username="vera", defaults={"role": "viewer"})
    mid = asset_ids[len(asset_ids) // 2]
    domain = Domain.objects.get(name="Domain 3")
    tag = Tag.objects.get(name="tag-7")
    term = GlossaryTerm.objects.get(name="Customer")

    pages, pages_viewer, api = Client(), Client(), APIClient()
    pages.force_login(reader)
    pages_viewer.force_login(viewer)
    api.force_authenticate(reader)

    def ok(response):
        assert response.status_code == 200, response.content[:300]

    # page -> (page request, same data through the API)
    cases = {
        "home: assets, page 7 + facets": (
            lambda: ok(pages.get("/", {"page": 7})),
            lambda: ok(api.get("/api/v1/assets/", {"page": 7})),
        ),
        "search 'table_77' (all types) + facets": (
            lambda: ok(pages.get("/search/", {"q": "table_77"})),
            lambda: ok(api.get("/api/v1/search", {"q": "table_77", "limit": 20})),
        ),
        "search 'email' columns only": (
            lambda: ok(pages.get("/search/", {"q": "email", "type": "column"})),
            lambda: ok(api.get("/api/v1/search", {"q": "email", "type": "column", "limit": 100})),
        ),
        "search + domain + entity_type facets": (
            lambda: ok(pages.get("/search/", {"q": "table_1", "domain": domain.pk, "entity_type": "EMAIL_ADDRESS"})),
            lambda: ok(
                api.get("/api/v1/search", {"q": "table_1", "domain": domain.pk, "entity_type": "EMAIL_ADDRESS", "limit": 20})
            ),
        ),
        "asset page (20 columns, panels)": (
            lambda: ok(pages.get(f"/assets/{mid}/")),
            lambda: ok(api.get(f"/api/v1/assets/{mid}/")),
        ),
        "asset page as viewer": (
            lambda: ok(pages_viewer.get(f"/assets/{mid}/")),
            lambda: ok(api.get(f"/api/v1/assets/{mid}/")),
        ),
        "glossary term (1,000 assets)": (
            lambda: ok(pages.get(f"/glossary/{term.pk}/")),
            lambda: ok(api.get("/api/v1/assets/", {"glossary_term": term.pk})),
        ),
        "domain (1,000 assets)": (
            lambda: ok(pages.get(f"/domains/{domain.pk}/")),
            lambda: ok(api.get("/api/v1/assets/", {"domain": domain.pk})),
        ),
        "tag (400 assets)": (
            lambda: ok(pages.get(f"/tags/{tag.pk}/")),
            lambda: ok(api.get("/api/v1/assets/", {"tag": tag.pk})),
        ),
        "person: owns 10,000, stewards none": (
            lambda: ok(pages.get("/people/owner/")),
            lambda: ok(api.get("/api/v1/assets/", {"owner": "owner"})),
        ),
        "person: stewards 2,000": (
            lambda: ok(pages.get("/people/stewie/")),
            lambda: ok(api.get("/api/v1/assets/", {"steward": "stewie"})),
        ),
    }
    print(f"database: {connection.vendor}; {len(asset_ids)} assets; {args.requests} requests per page")
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} | {'API p50':>8} {'API p95':>8} {'ratio':>6}")
    worst = 0.0
    for name, (page, baseline) in cases.items():
        p50, p95, queries = api_catalog.measure(page, args.requests)
        b50, b95, _ = api_catalog.measure(baseline, args.requests)
        worst = max(worst, p95)
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {queries:8d} | {b50:8.1f} {b95:8.1f} {p50 / b50:6.1f}x")
    print(f"slowest page p95: {worst:.1f} ms (target < 300 ms): {'under' if worst < 300 else 'OVER'} the target in this run")


if __name__ == "__main__":
    main()
