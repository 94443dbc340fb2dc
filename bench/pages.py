"""Catalog page latency at scale: the 10,000-asset, 200,000-column catalog of bench/api_catalog.py.

Prints p50/p95 latency and query count of each page (search with facets, the asset page with its
registered panels, glossary term, domain, tag and people pages, the dashboard as every role
(auditor, steward, admin, viewer, service), the review queue, the lineage explorer page and its
JSON, model and model-version pages), served in-process by Django's test client with full
middleware, session login and template rendering, and in the same run the API endpoint that
returns the same data (the baseline: ratio = page/API). Target: every page p95 < 300 ms (issue 18).

Usage: .venv/bin/python bench/pages.py [--assets 10000] [--columns-per-asset 20] [--requests 40]
       [--database-url postgres://postgres@127.0.0.1:5432/custos_bench_pages] [--reuse] [--only dashboard]
(default: a fresh SQLite file var/bench_pages.sqlite3). Setup rows are inserted with bulk_create by
bench/api_catalog.py's builder, plus a glossary term on one asset in ten, a layered lineage over
the assets and 20 ML models with monitoring data (``lineage_and_models``; bench setup only).
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
    parser.add_argument("--only", default="", help="time only the pages whose name contains this text (e.g. dashboard)")
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


def lineage_and_models(asset_ids: list[int]) -> dict:
    """A layered lineage over the bench assets and 20 ML models with monitoring (bench setup only).

    Five layers of 2,000 assets; each job reads 1-4 assets of the layer before (skewed towards a few
    hubs) and writes 2; the email columns of outputs derive from those of inputs (one edge in ten
    masking, with a transformation label); 60 model versions trained on last-layer assets, each
    with a monitor, 3 runs of 10 results and 2 open alerts."""
    import random

    from django.db import connection
    from django.utils import timezone

    from catalog.models import Column, MLModel, ModelVersion
    from lineage.models import Edge, GraphState, Job
    from monitoring.models import Alert, Monitor, MonitorResult, MonitorRun

    rng = random.Random(18)
    now = timezone.now()
    layers = [asset_ids[i : i + len(asset_ids) // 5] for i in range(0, len(asset_ids), len(asset_ids) // 5)][:5]
    email = dict(Column.objects.filter(name__startswith="email_").values_list("asset_id", "pk"))
    produced, job_rows = [], []
    for level in range(1, len(layers)):
        for i in range(0, len(layers[level]), 2):
            prev = layers[level - 1]
            ins = {prev[int(len(prev) * rng.random() ** 2.5)] for _ in range(rng.randint(1, 4))}
            job_rows.append(Job(namespace="airflow://bench", name=f"job_l{level}_{i}"))
            produced.append((sorted(ins), layers[level][i : i + 2]))
    jobs = Job.objects.bulk_create(job_rows, batch_size=5000)
    rows = []
    for job, (ins, outs) in zip(jobs, produced, strict=True):
        rows += [("consumes", "asset", a, "job", job.pk, job.pk, "", False) for a in ins]
        rows += [("produces", "job", job.pk, "asset", a, job.pk, "", False) for a in outs]
        for out in outs:
            for a in ins:
                masked = rng.random() < 0.1
                rows.append(("derives", "column", email[a], "column", email[out], job.pk, "DIRECT", masked))
    models = MLModel.objects.bulk_create([MLModel(name=f"bench-model-{i}", description="a bench model") for i in range(20)])
    versions = ModelVersion.objects.bulk_create(
        [
            ModelVersion(model=models[i % 20], version=f"1.{i // 20}.0", stage="production" if i < 20 else "staging")
            for i in range(60)
        ]
    )
    for mv in versions:
        rows += [("trained_on", "asset", a, "model_version", mv.pk, None, "", False) for a in rng.sample(layers[-1], 3)]
    GraphState.objects.update_or_create(pk=1, defaults={"version": 1, "stamp": "bench-pages"})
    Edge.objects.bulk_create(
        [
            Edge(
                kind=k,
                src_type=st,
                src_id=s,
                dst_type=dt,
                dst_id=d,
                job_id=j,
                transformation_type=tt,
                transformation_subtype="TRANSFORMATION" if tt else "",
                masking=m,
                description="sha256(email)" if m else ("lower(email)" if tt else ""),
                actor="bench",
                valid_from=now,
                last_seen_at=now,
                changed_version=1,
            )  # fmt: skip
            for k, st, s, dt, d, j, tt, m in rows
        ],
        batch_size=10000,
    )
    for mv in versions:
        monitor = Monitor.objects.create(model_version=mv, name=f"drift {mv.version}", reference_asset_id=layers[-1][0])
        runs = [
            MonitorRun.objects.create(monitor=monitor, status="succeeded", dataset_drift=k == 2, share_drifted=0.1 * k)
            for k in range(3)
        ]
        results = MonitorResult.objects.bulk_create(
            [
                MonitorResult(
                    run=run, kind="drift", name=f"feature_{f}", method="psi", score=0.05 * f, threshold=0.2, flagged=f > 7
                )
                for run in runs
                for f in range(10)
            ]
        )
        Alert.objects.bulk_create(
            [
                Alert(
                    monitor=monitor,
                    kind="drift",
                    subject=f"feature_{f}",
                    first_run=runs[-1],
                    last_run=runs[-1],
                    last_result=results[-10 + f],
                )
                for f in (8, 9)
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"hub": layers[0][0], "mid": layers[2][len(layers[2]) // 2], "model": models[0].pk, "version": versions[0].pk}


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
    from catalog.models import MLModel

    if not MLModel.objects.filter(name="bench-model-0").exists():  # also on a reused database loaded before
        lineage_and_models(asset_ids)
    step = len(asset_ids) // 5  # the layers of lineage_and_models
    hub, mid_lineage = asset_ids[0], asset_ids[2 * step + step // 2]
    model = MLModel.objects.get(name="bench-model-0")
    version = model.versions.order_by("pk").first()
    reader = User.objects.get(username="reader")  # an auditor: sees restricted assets and the ledger history
    viewer, _ = User.objects.get_or_create(username="vera", defaults={"role": "viewer"})
    mid = asset_ids[len(asset_ids) // 2]
    domain = Domain.objects.get(name="Domain 3")
    tag = Tag.objects.get(name="tag-7")
    term = GlossaryTerm.objects.get(name="Customer")

    steward = User.objects.get(username="owner")  # a steward (owns every bench asset)
    admin, _ = User.objects.get_or_create(username="ada", defaults={"role": "admin"})
    service, _ = User.objects.get_or_create(username="etl", defaults={"role": "service"})
    pages, pages_viewer, pages_steward, api, api_steward = Client(), Client(), Client(), APIClient(), APIClient()
    pages.force_login(reader)
    pages_viewer.force_login(viewer)
    pages_steward.force_login(steward)
    api.force_authenticate(reader)
    api_steward.force_authenticate(steward)
    # the dashboard as every role (each panel follows the role matrix), each against the API as that role
    dashboard_as = {}
    for role, user in (("admin", admin), ("viewer", viewer), ("service", service)):
        page_client, api_client = Client(), APIClient()
        page_client.force_login(user)
        api_client.force_authenticate(user)
        dashboard_as[role] = (page_client, api_client)

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
        "dashboard as auditor (every panel)": (
            lambda: ok(pages.get("/dashboard/")),
            lambda: ok(api.get("/api/v1/compliance/posture")),
        ),
        "dashboard as steward": (
            lambda: ok(pages_steward.get("/dashboard/")),
            lambda: ok(api_steward.get("/api/v1/compliance/posture")),
        ),
        **{
            f"dashboard as {role}": (
                lambda c=page_client: ok(c.get("/dashboard/")),
                lambda c=api_client: ok(c.get("/api/v1/compliance/posture")),
            )
            for role, (page_client, api_client) in dashboard_as.items()
        },
        "review queue (20,000 open), steward": (
            lambda: ok(pages_steward.get("/review/")),
            lambda: ok(api_steward.get("/api/v1/classifications/", {"state": "suggested"})),
        ),
        "review queue, auditor": (
            lambda: ok(pages.get("/review/")),
            lambda: ok(api.get("/api/v1/classifications/", {"state": "suggested"})),
        ),
        "lineage explorer page, hub depth 3": (
            lambda: ok(pages.get("/lineage/explorer/", {"node": f"asset:{hub}", "depth": 3})),
            lambda: ok(api.get("/api/v1/lineage/graph", {"node": f"asset:{hub}", "depth": 3})),
        ),
        "explorer JSON, one hop of a mid asset": (
            lambda: ok(pages.get("/lineage/explorer/graph.json", {"node": f"asset:{mid_lineage}", "depth": 1})),
            lambda: ok(api.get("/api/v1/lineage/graph", {"node": f"asset:{mid_lineage}", "depth": 1})),
        ),
        "explorer JSON, column level depth 2": (
            lambda: ok(
                pages.get("/lineage/explorer/graph.json", {"node": f"asset:{mid_lineage}", "depth": 2, "level": "column"})
            ),
            lambda: ok(api.get("/api/v1/lineage/graph", {"node": f"asset:{mid_lineage}", "depth": 2, "level": "column"})),
        ),
        "model page (3 versions, alerts)": (
            lambda: ok(pages.get(f"/models/{model.pk}/")),
            lambda: ok(api.get(f"/api/v1/models/{model.pk}/")),
        ),
        "model-version page (monitor, lineage)": (
            lambda: ok(pages.get(f"/models/versions/{version.pk}/")),
            lambda: ok(api.get(f"/api/v1/model-versions/{version.pk}/")),
        ),
    }
    import os

    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"database: {connection.vendor}; {len(asset_ids)} assets; {args.requests} requests per page")
    # CPU ms: the request's process CPU time (median), which a busy shared machine inflates far less
    # than wall-clock latency (SQLite runs in-process, so its work is included).
    print(
        f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>7} {'queries':>8} | "
        f"{'API p50':>8} {'API p95':>8} {'API CPU':>8} {'ratio':>6}"
    )
    worst = 0.0
    for name, (page, baseline) in cases.items():
        if args.only and args.only not in name:
            continue
        p50, p95, queries, cpu = api_catalog.measure(page, args.requests)
        b50, b95, _, bcpu = api_catalog.measure(baseline, args.requests)
        worst = max(worst, p95)
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {cpu:7.1f} {queries:8d} | {b50:8.1f} {b95:8.1f} {bcpu:8.1f} {p50 / b50:6.1f}x")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"slowest page p95: {worst:.1f} ms (target < 300 ms): {'under' if worst < 300 else 'OVER'} the target in this run")


if __name__ == "__main__":
    main()
