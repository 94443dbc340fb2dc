"""Lineage at warehouse scale: 100,000 nodes and 300,000 edges.

Generates a layered warehouse (raw -> staging -> ... -> marts -> model versions) with skewed
fan-in/fan-out, column-level derivations (10 % masking) and a few long chains, then measures in
one run, each against its baseline:

* cold load of the graph cache from the database  vs  raw SQL fetch + bare networkx build
* upstream / downstream at depth 5 (p50/p95) through ``lineage.selectors``  vs  bare networkx
  ``single_source_shortest_path_length(cutoff=5)`` on the same graph (target: within 2x)
* impact analysis (unbounded downstream of an asset, asset and column level)  vs  ``nx.descendants``
* upstream/downstream and Marquez's lineage read as admin, viewer and service (the scoping cost)
* over HTTP on one gunicorn server (as ``make serve``): OpenLineage intake with openlineage-python's
  client, one event per POST from 4 threads, vs an authenticated no-op POST on the same server
  (target: >= 50 % of its rate); batches of 500 vs the same events singly (target >= 1000
  events/s); Marquez ``GET /lineage`` and ``/api/v1/lineage/graph`` at depth 5 as viewer and
  service vs bare networkx
* propagation of a newly confirmed classification through the column graph (target: < 1 s)

Usage: .venv/bin/python bench/lineage.py [--database-url ...] [--events 3000] [--queries 200]
       [--only load,queries,propagation,intake]
Default database: a fresh SQLite file under var/. Graph setup rows are inserted with bulk_create
(bench setup only: the product writes through audited services).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{REPO / 'var' / 'bench_lineage.sqlite3'}")
    parser.add_argument("--assets", type=int, default=29_000)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn", help="HTTP server for the intake test")
    parser.add_argument(
        "--sequencer",
        default="inline,background",
        help="CUSTOS_LEDGER_SEQUENCER of the intake server, comma-separated: one server each, in this run, in this order",
    )
    parser.add_argument(
        "--only",
        default="load,queries,propagation,intake",
        help="comma-separated parts to measure (default: all); the graph is always generated",
    )
    return parser.parse_args()


def setup_django(database_url: str) -> None:
    os.environ["CUSTOS_ENV"] = "development"
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if database_url.startswith("sqlite:///"):
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


# --- generation ---------------------------------------------------------------------------------


def generate(n_assets: int, seed: int):
    """Bulk-insert the warehouse; returns ids for the measurements."""
    from django.utils import timezone

    from catalog.models import Column, DataAsset, DataSource, MLModel, ModelVersion
    from lineage.models import Edge, GraphState, Job

    rng = random.Random(seed)
    now = timezone.now()
    sources = DataSource.objects.bulk_create(
        [DataSource(name=f"wh{i}", kind="postgresql", namespace=f"postgres://wh{i}:5432") for i in range(10)]
    )
    shares = [0.21, 0.2, 0.17, 0.15, 0.13, 0.09, 0.05]
    layer_sizes = [int(n_assets * s) for s in shares]
    layers: list[list[int]] = []
    for level, size in enumerate(layer_sizes):
        rows = [
            DataAsset(
                source=sources[i % 10],
                qualified_name=f"l{level}.t{i}",
                name=f"t{i}",
                # 2 % restricted: what viewers and services must not see (the scoping cost)
                sensitivity="restricted" if i % 50 == 7 else "internal",
            )
            for i in range(size)
        ]
        layers.append([a.pk for a in DataAsset.objects.bulk_create(rows, batch_size=5000)])
    chain_assets = []
    for c in range(5):
        rows = [DataAsset(source=sources[0], qualified_name=f"chain{c}.t{i}", name=f"c{c}t{i}") for i in range(60)]
        chain_assets.append([a.pk for a in DataAsset.objects.bulk_create(rows)])
    all_assets = [a for layer in layers for a in layer] + [a for chain in chain_assets for a in chain]
    columns: dict[int, list[int]] = {}
    col_rows = []
    for asset_id in all_assets:
        for j in range(rng.choice((1, 2, 2, 3))):
            col_rows.append(Column(asset_id=asset_id, name=f"c{j}", position=j))
    for col in Column.objects.bulk_create(col_rows, batch_size=10000):
        columns.setdefault(col.asset_id, []).append(col.pk)

    edges: list[tuple] = []  # (kind, src_type, src_id, dst_type, dst_id, masking)
    job_rows = []
    produced: list[tuple[list[int], list[int]]] = []
    for level in range(1, len(layers)):
        outputs = layers[level]
        for i in range(0, len(outputs), 2):
            outs = outputs[i : i + 2]
            k = 1 + min(9, int(rng.paretovariate(1.2)))
            ins = set()
            for _ in range(k):
                src_layer = layers[level - 1] if rng.random() < 0.7 else layers[rng.randrange(0, level)]
                ins.add(src_layer[int(len(src_layer) * rng.random() ** 2.5)])  # skew: hubs with big fan-out
            job_rows.append(Job(namespace="airflow://bench", name=f"job_l{level}_{i}"))
            produced.append((sorted(ins), outs))
    for c, chain in enumerate(chain_assets):
        for i in range(len(chain) - 1):
            job_rows.append(Job(namespace="airflow://bench", name=f"chain{c}_{i}"))
            produced.append(([chain[i]], [chain[i + 1]]))
    jobs = Job.objects.bulk_create(job_rows, batch_size=5000)
    for job, (ins, outs) in zip(jobs, produced, strict=True):
        for a in ins:
            edges.append(("consumes", "asset", a, "job", job.pk, False, job.pk))
        for a in outs:
            edges.append(("produces", "job", job.pk, "asset", a, False, job.pk))
        in_cols = [c for a in ins for c in columns[a]]
        for a in outs:
            for out_col in columns[a]:
                fan_in = min(len(in_cols), rng.choice((1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 32)))
                for src in rng.sample(in_cols, fan_in):
                    edges.append(("derives", "column", src, "column", out_col, rng.random() < 0.1, job.pk))
    models = MLModel.objects.bulk_create([MLModel(name=f"model{i}") for i in range(100)])
    versions = ModelVersion.objects.bulk_create(
        [ModelVersion(model=models[i % 100], version=str(i), stage="production" if i % 3 == 0 else "staging") for i in range(500)]
    )
    for mv in versions:
        for a in rng.sample(layers[-1], rng.choice((1, 2, 3))):
            edges.append(("trained_on", "asset", a, "model_version", mv.pk, False, None))
    GraphState.objects.update_or_create(pk=1, defaults={"version": 1, "stamp": "bench"})
    Edge.objects.bulk_create(
        (
            Edge(
                kind=k,
                src_type=st,
                src_id=s,
                dst_type=dt,
                dst_id=d,
                masking=m,
                job_id=j,
                actor="bench",
                valid_from=now,
                last_seen_at=now,
                changed_version=1,
            )
            for k, st, s, dt, d, m, j in edges
        ),
        batch_size=10000,
    )
    # Fresh planner statistics, as autovacuum/ANALYZE would have after a real load (without them
    # PostgreSQL picks the partial unique index for the job's edges and scans the whole table).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    n_nodes = len(all_assets) + len(jobs) + len(col_rows) + len(versions)
    return {
        "nodes": n_nodes,
        "edges": len(edges),
        "assets": all_assets,
        "layers": layers,
        "chains": chain_assets,
        "columns": columns,
        "rows": edges,
    }


# --- measurements -------------------------------------------------------------------------------


def bare_graphs(rows):
    import networkx as nx

    assets, cols = nx.DiGraph(), nx.DiGraph()
    assets.add_edges_from((f"{st}:{s}", f"{dt}:{d}") for _k, st, s, dt, d, _m, _j in rows if st != "column")
    cols.add_edges_from((f"column:{s}", f"column:{d}") for _k, st, s, _dt, d, _m, _j in rows if st == "column")
    return assets, cols


def measure_load(rows) -> tuple[float, float]:
    import networkx as nx
    from django.db import connection

    from lineage.graph import cache

    cache.reset()
    t0 = time.perf_counter()
    cache.sync()
    custos = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT src_type, src_id, dst_type, dst_id FROM lineage_edge WHERE valid_to IS NULL")
        fetched = cursor.fetchall()
    graph = nx.DiGraph()
    graph.add_edges_from((f"{a}:{b}", f"{c}:{d}") for a, b, c, d in fetched)
    baseline = time.perf_counter() - t0
    return custos, baseline


def measure_queries(samples: list[str], user, bare_assets, n: int):
    import networkx as nx

    from lineage import selectors

    reverse = bare_assets.reverse(copy=True)

    def bare(graph, node):
        return nx.single_source_shortest_path_length(graph, node, cutoff=5) if node in graph else {node: 0}

    results = {}
    for name, fn, base in (
        (
            "upstream depth 5",
            lambda node: selectors.upstream(user=user, node=node, depth=5),
            lambda node: bare(reverse, node),
        ),
        (
            "downstream depth 5",
            lambda node: selectors.downstream(user=user, node=node, depth=5),
            lambda node: bare(bare_assets, node),
        ),
    ):
        custos_t, base_t, sizes = [], [], []
        for node in samples[:n]:
            t0 = time.perf_counter()
            sub = fn(node)
            custos_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = base(node)
            base_t.append(time.perf_counter() - t0)
            assert len(found) == len(sub.nodes), (node, len(found), len(sub.nodes))
            sizes.append(len(found))
        results[name] = (custos_t, base_t, sizes)
    return results


def measure_scoped(samples: list[str], users: dict, bare_assets, n: int) -> dict[str, tuple[list, list]]:
    """Upstream/downstream depth 5 and Marquez's lineage read (in process) for each user, vs bare
    networkx ``single_source_shortest_path_length(cutoff=5)`` from the same node."""
    import networkx as nx

    from catalog.models import DataAsset
    from lineage import marquez, selectors

    reverse = bare_assets.reverse(copy=True)
    names = {}
    for node in samples[:n]:
        asset = DataAsset.objects.select_related("source").get(pk=int(node[6:]))
        names[node] = f"dataset:{asset.source.namespace}:{asset.qualified_name}"

    def bare(graph, node):
        return nx.single_source_shortest_path_length(graph, node, cutoff=5) if node in graph else {node: 0}

    out = {}
    for role, user in users.items():
        for name, fn, base in (
            (
                "upstream d5",
                lambda node, u=user: selectors.upstream(user=u, node=node, depth=5),
                lambda node: bare(reverse, node),
            ),
            (
                "downstream d5",
                lambda node, u=user: selectors.downstream(user=u, node=node, depth=5),
                lambda node: bare(bare_assets, node),
            ),
            (
                "Marquez lineage d5",
                lambda node, u=user: marquez.lineage(user=u, node_id=names[node], depth=5),
                lambda node: (bare(reverse, node), bare(bare_assets, node)),
            ),
        ):
            custos_t, base_t = [], []
            for node in samples[:n]:
                t0 = time.perf_counter()
                with contextlib.suppress(selectors.NodeNotFound):
                    fn(node)
                custos_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                base(node)
                base_t.append(time.perf_counter() - t0)
            out[f"{name} as {role}"] = (custos_t, base_t)
    return out


def measure_impact(samples: list[str], user, bare_assets, bare_cols, columns, n: int):
    import networkx as nx

    from lineage import selectors

    custos_t, base_t, sizes = [], [], []
    for node in samples[:n]:
        asset_id = int(node.split(":")[1])
        t0 = time.perf_counter()
        sub = selectors.impact_keys(user=user, node=node)
        custos_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        found = set(nx.descendants(bare_assets, node)) if node in bare_assets else set()
        for col in columns.get(asset_id, []):
            key = f"column:{col}"
            if key in bare_cols:
                found |= nx.descendants(bare_cols, key)
        base_t.append(time.perf_counter() - t0)
        sizes.append(len(found))
        assert len(sub.nodes) - 1 == len(found), (node, len(sub.nodes), len(found))
    return custos_t, base_t, sizes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_events(n: int, rng: random.Random) -> list[dict]:
    producer = "https://github.com/example-org/pipelines/tree/bench"
    schema_url = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    ns = "postgres://bench-ol:5432"

    def facet(**fields):
        return {"_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json#/$defs/X", **fields}

    events = []
    for i in range(n // 2):
        job = i % 200
        ins = [f"ol.src{(job * 7 + k) % 600}" for k in range(2)]
        out = f"ol.out{job}"
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        lineage = facet(
            fields={
                f"f{c}": {
                    "inputFields": [
                        {
                            "namespace": ns,
                            "name": ins[c % 2],
                            "field": f"f{c}",
                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": c == 2}],
                        }
                    ]
                }
                for c in range(3)
            }
        )
        schema = facet(fields=[{"name": f"f{c}", "type": "VARCHAR"} for c in range(3)])
        for event_type, minute in (("START", 0), ("COMPLETE", 1)):
            events.append(
                {
                    "eventType": event_type,
                    "eventTime": f"2025-01-{1 + i % 28:02d}T{i % 24:02d}:{minute:02d}:00.{i % 1000:03d}Z",
                    "producer": producer,
                    "schemaURL": schema_url,
                    "run": {"runId": run_id, "facets": {}},
                    "job": {
                        "namespace": "airflow://bench-ol",
                        "name": f"ol_job_{job}",
                        "facets": {"sql": facet(query=f"INSERT INTO {out} SELECT ...")},
                    },
                    "inputs": [{"namespace": ns, "name": name, "facets": {"schema": schema}} for name in ins],
                    "outputs": [{"namespace": ns, "name": out, "facets": {"schema": schema, "columnLineage": lineage}}],
                }
            )
    return events


def client_event(event: dict):
    """The same event as openlineage-python's typed RunEvent (what a real producer emits)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import column_lineage_dataset as cl
    from openlineage.client.facet_v2 import schema_dataset, sql_job

    def facets(ds: dict) -> dict:
        out = {}
        raw = ds.get("facets") or {}
        if "schema" in raw:
            fields = [schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"]) for f in raw["schema"]["fields"]]
            out["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields)
        if "columnLineage" in raw:
            out["columnLineage"] = cl.ColumnLineageDatasetFacet(
                fields={
                    name: cl.Fields(
                        inputFields=[
                            cl.InputField(
                                namespace=i["namespace"],
                                name=i["name"],
                                field=i["field"],
                                transformations=[cl.Transformation(**t) for t in i["transformations"]],
                            )
                            for i in spec["inputFields"]
                        ]
                    )
                    for name, spec in raw["columnLineage"]["fields"].items()
                }
            )
        return out

    job = event["job"]
    return RunEvent(
        eventType=RunState(event["eventType"]),
        eventTime=event["eventTime"],
        run=Run(runId=event["run"]["runId"]),
        job=Job(
            namespace=job["namespace"], name=job["name"], facets={"sql": sql_job.SQLJobFacet(query=job["facets"]["sql"]["query"])}
        ),
        producer=event["producer"],
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d)) for d in event["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d)) for d in event["outputs"]],
    )


def _threads(target, chunks) -> float:
    threads = [threading.Thread(target=target, args=(chunk,)) for chunk in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def measure_http(
    database_url: str,
    n_events: int,
    seed: int,
    server_kind: str,
    *,
    tokens: dict[str, str],
    lineage_samples: list[tuple[str, str]],
    bare_assets,
    sequencer: str = "background",
) -> dict:
    """One server process (gunicorn by default) for everything over HTTP: OpenLineage intake with
    openlineage-python's client (one event per POST, 4 client threads) vs an authenticated no-op
    POST on the same server and threads; batches of 500 vs the same number of events sent singly;
    Marquez's ``GET /lineage`` and ``/api/v1/lineage/graph`` at depth 5 as viewer and service vs
    bare networkx."""
    import networkx as nx
    import requests
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CUSTOS_ENV": "development", "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    # The bench measures what the server can take, not the per-token rates (accounts/throttling.py:
    # intake 12000/minute by default, other writes 600/minute).
    env["CUSTOS_THROTTLE_TOKEN_WRITE"] = "100000000/minute"
    env["CUSTOS_THROTTLE_LINEAGE_INTAKE"] = "100000000/minute"
    env["CUSTOS_LEDGER_SEQUENCER"] = sequencer
    log = open(REPO / "var" / "bench_lineage_server.log", "w")  # noqa: SIM115 - closed below
    if server_kind == "gunicorn":
        # as `make serve`: one worker per CPU, gthread x 4, persistent DB connections, keep-alive.
        env["DATABASE_CONN_MAX_AGE"] = "600"
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(os.cpu_count() or 2), "--worker-class", "gthread", "--threads", "4"]
        command += ["--keep-alive", "30", "--log-level", "warning", "--preload"]
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/api/v1/lineage"

    def headers(role: str) -> dict:
        return {"Authorization": f"Bearer {tokens[role]}", "Content-Type": "application/json"}

    errors: list[int] = []
    out: dict = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(f"{base}/api/v1/me", headers=headers("service"), timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("bench server did not start; see var/bench_lineage_server.log") from None
                time.sleep(0.3)
        rng = random.Random(seed)
        before = requests.get(
            f"{url}/events", params={"namespace": "airflow://bench-ol", "page_size": 1}, headers=headers("service"), timeout=60
        ).json()["count"]
        warm = make_events(800, rng)  # registers the 800 datasets and 200 jobs once (one-off catalog work)
        t0 = time.perf_counter()
        for i in range(0, len(warm), 100):
            requests.post(url + "/batch", json=warm[i : i + 100], headers=headers("service"), timeout=600).raise_for_status()
        out["warm_s"], out["warm_events"] = time.perf_counter() - t0, len(warm)

        # single events through the real client, 4 threads (each its own client and connection)
        singles = make_events(n_events, rng)
        typed = [client_event(e) for e in singles]

        def emit(events):
            transport = HttpTransport(
                HttpConfig(
                    url=base, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": tokens["service"]}), timeout=120
                )
            )
            client = OpenLineageClient(transport=transport)
            for event in events:
                client.emit(event)

        out["single_s"] = _threads(emit, [typed[i::4] for i in range(4)])
        out["single_eps"] = len(typed) / out["single_s"]
        applied = requests.get(
            f"{url}/events", params={"namespace": "airflow://bench-ol", "page_size": 1}, headers=headers("service"), timeout=60
        )
        out["stored_events"] = applied.json().get("count") - before - len(warm) if applied.status_code == 200 else None
        if out["stored_events"] != len(typed):  # the client does not raise on an error answer: count
            errors.append(f"single: {out['stored_events']} of {len(typed)} events stored")

        # no-op POST: same server, same 4 threads, authenticated, answered without touching lineage (400)
        codes: list[int] = []

        def noop(k):
            with requests.Session() as session:
                for _ in range(k):
                    codes.append(session.post(url, data=b"{}", headers=headers("service"), timeout=60).status_code)

        out["noop_s"] = _threads(noop, [len(typed) // 4] * 4)
        out["noop_rps"] = len(codes) / out["noop_s"]
        assert set(codes) == {400}, set(codes)

        # batches of 500 (one client) vs the events sent singly above; at least 4 batches, each
        # timed (the first one a worker gets may still pay for names that worker has not seen)
        batches = make_events(max(n_events, 2000), rng)
        times = []
        with requests.Session() as session:
            for i in range(0, len(batches), 500):
                t0 = time.perf_counter()
                r = session.post(url + "/batch", json=batches[i : i + 500], headers=headers("service"), timeout=600)
                times.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(r.status_code)
        out["batch_eps"] = len(batches) / sum(times)
        out["batch_times"] = times

        # reads at depth 5 over HTTP, as viewer and service, vs bare networkx
        reverse = bare_assets.reverse(copy=True)
        for role in ("viewer", "service"):
            with requests.Session() as session:
                session.headers.update(headers(role))
                session.get(f"{base}/api/v1/lineage/graph", params={"node": lineage_samples[0][0], "depth": 1}, timeout=120)
                for name, make in (
                    ("Marquez GET /lineage", lambda key, mid: (f"{base}/marquez/api/v1/lineage", {"nodeId": mid, "depth": 5})),
                    (
                        "GET /api/v1/lineage/graph upstream",
                        lambda key, mid: (f"{base}/api/v1/lineage/graph", {"node": key, "direction": "upstream", "depth": 5}),
                    ),
                ):
                    times, base_times = [], []
                    for key, marquez_id in lineage_samples:
                        target, params = make(key, marquez_id)
                        t0 = time.perf_counter()
                        r = session.get(target, params=params, timeout=120)
                        times.append(time.perf_counter() - t0)
                        if r.status_code not in (200, 404):
                            errors.append(r.status_code)
                        t0 = time.perf_counter()
                        if key in bare_assets:
                            nx.single_source_shortest_path_length(reverse, key, cutoff=5)
                            if name.startswith("Marquez"):
                                nx.single_source_shortest_path_length(bare_assets, key, cutoff=5)
                        base_times.append(time.perf_counter() - t0)
                    out[f"{name} as {role}"] = (times, base_times)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    out["errors"] = errors
    return out


def _reach(succ, column: int, limit: int) -> int:
    seen, stack = set(), [f"column:{column}"]
    while stack and len(seen) <= limit:
        for nxt, d in succ.get(stack.pop(), {}).items():
            if not d["stop"] and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen)


def measure_propagation(data, user, targets=(50, 500)) -> list[dict]:
    """Confirm a classification on raw columns whose unmasked downstream is about ``targets`` columns.

    Times (a) planning alone (graph walk + reading classifications: ``dry_run``) and (b) the whole
    change: the steward's confirmation, commit, and every propagated label written through
    ``catalog.bulk.classifications_suggest_bulk`` (one audit event per label), with other apps'
    receivers of ``classification_changed``/``classifications_changed`` detached, then (c) the
    same with them attached (eager Celery here: one policy evaluation per asset touched).
    """
    from django.db import transaction

    from catalog import services as catalog
    from catalog.models import Classification, Column
    from catalog.signals import classification_changed, classifications_changed
    from lineage.graph import cache
    from lineage.propagation import propagation_recompute

    succ = cache.graphs.columns._succ
    candidates = []
    for asset_id in data["layers"][0][:1500]:
        for col in data["columns"][asset_id]:
            candidates.append((_reach(succ, col, 2000), col))
    used: set[int] = set()
    results = []
    signals = (classification_changed, classifications_changed)
    foreign = {s: [r for r in s.receivers if not str(r[0][0]).startswith("lineage.")] for s in signals}
    for target, attach in [(t, False) for t in targets] + [(targets[0], True)]:
        reach, col = min(((r, c) for r, c in candidates if c not in used), key=lambda rc: abs(rc[0] - target))
        used.add(col)
        column = Column.objects.get(pk=col)
        entity = "EMAIL_ADDRESS" if not attach else "PERSON"
        if not attach:
            for signal in signals:
                signal.receivers = [r for r in signal.receivers if r not in foreign[signal]]
                signal.sender_receivers_cache.clear()
        before = Classification.objects.filter(source="propagated", entity_type=entity).count()
        t0 = time.perf_counter()
        with transaction.atomic():
            catalog.classification_assign(column=column, entity_type=entity, actor=user)
        total_s = time.perf_counter() - t0  # on_commit ran the propagation synchronously
        t0 = time.perf_counter()
        planned = propagation_recompute(column_ids={col}, entity_types={entity}, dry_run=True)
        plan_s = time.perf_counter() - t0
        created = Classification.objects.filter(source="propagated", entity_type=entity).count() - before
        if not attach:
            for signal in signals:
                signal.receivers = signal.receivers + foreign[signal]
                signal.sender_receivers_cache.clear()
        results.append(
            {
                "reach": reach,
                "planned": planned["planned"],
                "created": created,
                "plan_s": plan_s,
                "total_s": total_s,
                "attached": attach,
                "before": before,
            }
        )
    return results


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    from django.db import transaction

    from accounts.services import user_ensure

    with transaction.atomic():
        admin = user_ensure(username="bench-admin", role="admin", actor="bench")
        viewer = user_ensure(username="bench-viewer", role="viewer", actor="bench")
        service = user_ensure(username="bench-service", role="service", actor="bench")
    data = generate(args.assets, args.seed)
    from lineage.models import GraphState

    t_q = time.perf_counter()
    for _ in range(500):
        GraphState.objects.filter(pk=1).values_list("version", flat=True).first()
    orm_us = (time.perf_counter() - t_q) / 500 * 1e6
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; a one-row ORM query takes {orm_us:.0f} us")
    print(
        f"database: {connection.vendor}; generated {data['nodes']:,} nodes and {data['edges']:,} edges in {time.perf_counter() - t0:.1f} s"
    )

    parts = set(args.only.split(","))
    if "load" in parts:
        custos_load, base_load = measure_load(data["rows"])
        print("\n== cold load of the graph cache ==")
        print(f"custos cache.sync()          {ms(custos_load)}")
        print(f"baseline SQL fetch + nx build {ms(base_load)}   ratio {custos_load / base_load:.2f}x")
    else:
        from lineage.graph import cache

        cache.sync()

    if "queries" in parts:
        bare_assets, bare_cols = bare_graphs(data["rows"])
        rng = random.Random(args.seed)
        samples = (
            [f"asset:{rng.choice(data['assets'])}" for _ in range(args.queries - 10)]
            + [f"asset:{c[0]}" for c in data["chains"]]
            + [f"asset:{c[-1]}" for c in data["chains"]]
        )
        rng.shuffle(samples)
        print(f"\n== traversals ({len(samples)} random assets incl. long-chain ends; custos = selectors as admin, warm cache) ==")
        print(
            f"{'query':24} {'custos p50':>12} {'p95':>12} {'networkx p50':>14} {'p95':>12} {'ratio p50':>10} {'ratio p95':>10} {'nodes p50/max':>14}"
        )
        for name, (c, b, sizes) in measure_queries(samples, admin, bare_assets, len(samples)).items():
            print(
                f"{name:24} {ms(pct(c, 0.5)):>12} {ms(pct(c, 0.95)):>12} {ms(pct(b, 0.5)):>14} {ms(pct(b, 0.95)):>12} "
                f"{pct(c, 0.5) / pct(b, 0.5):9.2f}x {pct(c, 0.95) / pct(b, 0.95):9.2f}x {int(statistics.median(sizes)):>7}/{max(sizes)}"
            )
        scoped = measure_scoped(
            samples, {"admin": admin, "viewer": viewer, "service": service}, bare_assets, min(100, len(samples))
        )
        for name, (c, b) in scoped.items():
            print(
                f"{name:24} {ms(pct(c, 0.5)):>12} {ms(pct(c, 0.95)):>12} {ms(pct(b, 0.5)):>14} {ms(pct(b, 0.95)):>12} "
                f"{pct(c, 0.5) / pct(b, 0.5):9.2f}x {pct(c, 0.95) / pct(b, 0.95):9.2f}x"
            )
        print(
            "  (Marquez lineage: the whole answer -- traversal, scoping, node data from the database -- vs the bare walk both ways)"
        )
        c, b, sizes = measure_impact(samples, admin, bare_assets, bare_cols, data["columns"], min(100, len(samples)))
        print(
            f"{'impact (unbounded)':24} {ms(pct(c, 0.5)):>12} {ms(pct(c, 0.95)):>12} {ms(pct(b, 0.5)):>14} {ms(pct(b, 0.95)):>12} "
            f"{pct(c, 0.5) / pct(b, 0.5):9.2f}x {pct(c, 0.95) / pct(b, 0.95):9.2f}x {int(statistics.median(sizes)):>7}/{max(sizes)}"
        )

    if "propagation" in parts:
        print("\n== propagation of a newly confirmed classification ==")
        for prop in measure_propagation(data, admin):
            receivers = (
                "with other apps' receivers (policy re-evaluation, eager)" if prop["attached"] else "lineage receiver only"
            )
            print(
                f"raw column reaching {prop['reach']:4} columns unmasked: plan (graph walk) {prop['plan_s'] * 1000:7.1f} ms for {prop['planned']} labels; "
                f"confirm + commit + {prop['created']} propagated labels written (each audited) {prop['total_s'] * 1000:8.0f} ms  [{receivers}]"
            )

    if "intake" in parts:
        from django.db import transaction

        from accounts.services import token_create
        from catalog.models import DataAsset

        tokens = {}
        with transaction.atomic():
            for role, user in (("service", service), ("viewer", viewer)):
                tokens[role] = token_create(user=user, actor="bench", name=f"bench-{role}")[1]
        rng = random.Random(args.seed + 1)
        picked = [rng.choice(data["assets"]) for _ in range(50)]
        names = {a.pk: a for a in DataAsset.objects.filter(pk__in=picked).select_related("source")}
        samples = [(f"asset:{pk}", f"dataset:{names[pk].source.namespace}:{names[pk].qualified_name}") for pk in picked]
        bare_assets, _ = bare_graphs(data["rows"])
        connection.close()
        modes = [mode.strip() for mode in args.sequencer.split(",")]
        if not set(modes) <= {"inline", "background"}:
            raise SystemExit("--sequencer: inline and/or background")
        for k, mode in enumerate(modes):
            print(
                f"\n== over HTTP: one {args.server} server ({os.cpu_count()} workers x 4 threads), {connection.vendor}, "
                f"CUSTOS_LEDGER_SEQUENCER={mode} =="
            )
            http = measure_http(
                args.database_url,
                args.events,
                args.seed + 1000 * k,  # new run ids: the second server must not see repeats (duplicates are cheap)
                args.server,
                tokens=tokens,
                lineage_samples=samples,
                bare_assets=bare_assets,
                sequencer=mode,
            )
            print_http(http)
            print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine)")
        # The same batch service without HTTP, in this process (its caches cold, like a new worker):
        # what the request's JSON parsing, rendering and the server add is the difference.
        from lineage.openlineage import event_ingest_batch

        events = make_events(2000, random.Random(args.seed + 99))
        times = []
        for i in range(0, len(events), 500):
            t0 = time.perf_counter()
            event_ingest_batch(payloads=events[i : i + 500], actor=service)
            times.append(time.perf_counter() - t0)
        print(
            f"\nin process (no HTTP), batches of 500 through event_ingest_batch: {len(events) / sum(times):7.0f} events/s "
            f"(seconds per batch: {' '.join(f'{t:.2f}' for t in times)}); load {os.getloadavg()[0]:.1f}"
        )


def print_http(http: dict) -> None:
    print(f"warm-up: {http['warm_events']} events registering 800 datasets + 200 jobs in {http['warm_s']:.1f} s (batches of 100)")
    print(
        f"single events, openlineage-python client, 4 threads: {http['single_eps']:7.0f} events/s "
        f"({http['stored_events']} stored events of the bench namespace)"
    )
    print(f"baseline: authenticated no-op POST (400), same server, 4 threads: {http['noop_rps']:7.0f} requests/s")
    print(f"  single intake = {http['single_eps'] / http['noop_rps']:.0%} of the no-op rate (target >= 50 %)")
    print(
        f"batches of 500, 1 client: {http['batch_eps']:7.0f} events/s = {http['batch_eps'] / http['single_eps']:.1f}x single "
        "(target >= 1000 events/s)"
    )
    print(f"  seconds per batch: {' '.join(f'{t:.2f}' for t in http['batch_times'])}")
    print(f"{'read over HTTP (depth 5)':40} {'p50':>10} {'p95':>10} {'networkx p50':>13} {'ratio p50':>10}")
    for name, value in http.items():
        if isinstance(value, tuple):
            c, b = value
            print(f"{name:40} {ms(pct(c, 0.5))} {ms(pct(c, 0.95))} {ms(pct(b, 0.5))} {pct(c, 0.5) / pct(b, 0.5):9.0f}x")
    if http["errors"]:
        print(f"errors: {len(http['errors'])} ({sorted({str(e) for e in http['errors']})})")


if __name__ == "__main__":
    main()
