"""Load drill: gunicorn on PostgreSQL (``make serve``'s command) at fixed request rates.

An open-loop driver (asyncio + httpx, loopback) sends requests on a fixed schedule -- request i
at t0 + i/rate, whatever the answers before it -- and measures each latency from the moment the
request was *due*, so a server that falls behind shows it in p99 instead of slowing the driver
down (no coordinated omission). Each rate runs for a bounded time (``--seconds``).

The mix, per request (weights in ``MIX``): reads -- the asset list (a page of 10,000 assets),
search, Marquez-style lineage (``GET /api/v1/lineage?nodeId=...&depth=3``); writes -- OpenLineage
intake (one RunEvent per ``POST /api/v1/lineage``, each audited) and classification decisions
(``POST /api/v1/classifications/{id}/confirm|reject``, each audited and raising the asset's
sensitivity). Per rate it prints p50/p99 and error counts (any non-2xx, timeout or connection
error), overall and per endpoint, and the load average.

A rate is **sustained** when it has no error, p99 < 500 ms and the driver sent at least 95% of the
scheduled requests in time. The ladder stops at the first rate that is not sustained.

Baseline, measured in the same run on the same server and driver: the same ladder with a no-op
authenticated ``GET /api/v1/me`` (auth, middleware, one token lookup). The ratio says how much of
the no-op capacity the real mix keeps; the driver's own CPU time is printed (it shares the 2 cores).

Usage: .venv/bin/python bench/load.py [--database-url postgres://postgres@127.0.0.1:5432/custos_bench_load]
       [--assets 10000] [--rates 5,10,20,40,60,80,120,160] [--seconds 15] [--reuse]
       .venv/bin/python bench/load.py --reuse --profile 20   # which request costs what (below)
The bench database is dropped and re-created (unless --reuse finds it loaded). Setup rows are
inserted with bulk_create by bench/api_catalog.py (bench setup only). The server runs with
``CUSTOS_ENV=development DEBUG=0`` (no TLS on loopback), throttles raised (docs/operations.md),
``DATABASE_CONN_MAX_AGE=60``, and a Redis broker (``--broker``) on which the tasks the requests queue
(policy re-evaluation, propagation) wait -- no worker runs them: this measures the web tier, whose
workers live elsewhere in production (docs/operations.md); they are purged after the run.

``--profile N`` (no server, no ladder): each endpoint of the mix, then the no-op, N times one after
another in this process through Django's test client, with the server's settings
(``development``, ``DEBUG=0``, throttles raised, the same broker): per endpoint the wall and CPU
time per request (CPU time hardly depends on the machine's load; wall time does), the number of
SQL queries and their time, and cProfile's most expensive functions of the project. The CPU time
bounds the rate the 2-core machine can sustain whatever the load: about ``2 s / mean CPU s``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import api_catalog  # noqa: E402 - the shared 10,000-asset builder

P99_TARGET_MS = 500.0
MIX = {  # endpoint -> weight (reads 70%, writes 30%)
    "GET assets": 30,
    "GET search": 20,
    "GET lineage": 20,
    "POST lineage (intake)": 15,
    "POST classification decision": 15,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/custos_bench_load")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--rates", default="5,10,20,40,60,80,120,160,240", help="requests per second, ascending")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each rate")
    parser.add_argument("--connections", type=int, default=32, help="driver's connection pool")
    parser.add_argument("--timeout", type=float, default=10.0, help="a request slower than this is an error")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (make serve: nproc)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (make serve: 4)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-op ladder")
    parser.add_argument(
        "--broker",
        default="redis://127.0.0.1:6379/11",
        help="the server's CELERY_BROKER_URL: tasks the requests queue wait there, no worker runs (the web tier's own "
        "capacity; workers live elsewhere) and the queue is emptied after the run; 'memory://' runs them in the request",
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--reuse", action="store_true", help="reuse the bench database of a previous run if it is loaded")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile each endpoint N times in-process instead of the ladder"
    )
    return parser.parse_args()


def bench_lineage():
    """bench/lineage.py's OpenLineage event maker (loaded by path: its module name is the app's)."""
    spec = importlib.util.spec_from_file_location("bench_lineage", REPO / "bench" / "lineage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(args) -> dict:
    """Load the catalog (or reuse it); tokens for a reader (auditor), a service and a steward."""
    if args.database_url.startswith("postgres") and not args.reuse:
        api_catalog.reset_postgres(args.database_url)
    api_catalog.setup_django(args.database_url, args.reuse)
    from django.conf import settings
    from django.db import connection, transaction

    from accounts.models import User
    from accounts.services import token_create
    from catalog.models import Classification, DataAsset

    if args.reuse and DataAsset.objects.count() >= args.assets:
        print(f"reusing the loaded bench database ({DataAsset.objects.count()} assets)")
    else:
        api_catalog.load(args.assets, 20)
    reader = User.objects.get(username="reader")
    steward = User.objects.get(username="owner")
    service, _ = User.objects.get_or_create(username="bench-service", defaults={"role": "service"})
    with transaction.atomic():
        tokens = {
            name: token_create(user=u, actor="bench", name=f"load-{name}")[1]
            for name, u in (("reader", reader), ("service", service), ("steward", steward))
        }
    suggested = list(Classification.objects.filter(state="suggested").order_by("pk").values_list("pk", flat=True))
    pages = max(1, DataAsset.objects.count() // settings.REST_FRAMEWORK["PAGE_SIZE"])
    connection.close()
    return {"tokens": tokens, "suggested": suggested, "pages": pages}


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: object

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def start_server(args, prom_dir: str) -> Server:
    """``make serve``'s gunicorn command, on a free loopback port."""
    port = free_port()
    env = {**os.environ, **server_environment(args), "PROMETHEUS_MULTIPROC_DIR": prom_dir}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers", str(args.workers)]
    command += ["--threads", str(args.threads), "--keep-alive", "30", "--max-requests", "10000"]
    command += ["--max-requests-jitter", "1000", "--preload", "--log-level", "warning"]
    log = open(REPO / "var" / "bench_load_server.log", "w")  # noqa: SIM115 - closed by Server.stop
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server, token: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{server.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise RuntimeError("the bench server did not start; see var/bench_load_server.log")
        time.sleep(0.3)


@dataclass
class Step:
    rate: float
    scheduled: int = 0
    late_sends: int = 0  # sent more than 100 ms after they were due (the driver fell behind)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, dict[str, int]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    driver_cpu_s: float = 0.0
    seconds: float = 0.0

    def all_latencies(self) -> list[float]:
        return sorted(itertools.chain.from_iterable(self.latencies.values()))

    def error_count(self) -> int:
        return sum(sum(kinds.values()) for kinds in self.errors.values())

    def sustained(self) -> bool:
        lat = self.all_latencies()
        return (
            bool(lat) and self.error_count() == 0 and pct(lat, 0.99) < P99_TARGET_MS and self.late_sends <= 0.05 * self.scheduled
        )


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Workload:
    """What each endpoint sends; every write touches a row no earlier write touched."""

    def __init__(self, tokens: dict[str, str], suggested: list[int], events: list[dict], pages: int, seed: int):
        self.tokens = tokens
        self.pages = pages
        self.suggested = iter(suggested)
        self.events = iter(events)
        self.rng = random.Random(seed)
        self.decision = itertools.cycle(("confirm", "reject"))

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def request(self, kind: str) -> tuple[str, str, dict]:
        rng = self.rng
        if kind == "GET me":
            return "GET", "/api/v1/me", {"headers": self.headers("reader")}
        if kind == "GET assets":
            return "GET", "/api/v1/assets/", {"params": {"page": rng.randint(1, self.pages)}, "headers": self.headers("reader")}
        if kind == "GET search":
            return (
                "GET",
                "/api/v1/search",
                {"params": {"q": f"table_{rng.randint(1, 999)}", "limit": 20}, "headers": self.headers("reader")},
            )
        if kind == "GET lineage":
            node = f"dataset:postgres://bench-ol:5432:ol.out{rng.randrange(200)}"
            return "GET", "/api/v1/lineage", {"params": {"nodeId": node, "depth": 3}, "headers": self.headers("reader")}
        if kind == "POST lineage (intake)":
            return "POST", "/api/v1/lineage", {"json": next(self.events), "headers": self.headers("service")}
        if kind == "POST classification decision":
            pk = next(self.suggested)
            body = {"reason": "load drill"}
            return (
                "POST",
                f"/api/v1/classifications/{pk}/{next(self.decision)}",
                {"json": body, "headers": self.headers("steward")},
            )
        raise ValueError(kind)


async def run_step(base: str, workload: Workload, kinds: list[str], rate: float, seconds: float, args) -> Step:
    import httpx

    step = Step(rate=rate)
    n = max(1, int(rate * seconds))
    step.scheduled = n
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    timeout = httpx.Timeout(args.timeout)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one(kind: str, method: str, path: str, options: dict, due: float) -> None:
            try:
                response = await client.request(method, path, **options)
                outcome = None if 200 <= response.status_code < 300 else str(response.status_code)
            except httpx.TimeoutException:
                outcome = "timeout"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            elapsed_ms = (loop.time() - due) * 1000
            if outcome is None:
                step.latencies.setdefault(kind, []).append(elapsed_ms)
            else:
                bucket = step.errors.setdefault(kind, {})
                bucket[outcome] = bucket.get(outcome, 0) + 1

        load_before = os.getloadavg()[0]
        cpu0 = time.process_time()
        t0 = loop.time()
        pending = []
        for i in range(n):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > 0.1:
                step.late_sends += 1
            kind = kinds[i % len(kinds)]
            method, path, options = workload.request(kind)
            pending.append(asyncio.ensure_future(one(kind, method, path, options, due)))
        await asyncio.gather(*pending)
        step.seconds = loop.time() - t0
        step.driver_cpu_s = time.process_time() - cpu0
        step.load = (load_before, os.getloadavg()[0])
    for values in step.latencies.values():
        values.sort()
    return step


def ladder(name: str, base: str, workload: Workload, mix: dict[str, int], rates: list[float], args) -> list[Step]:
    rng = random.Random(args.seed)
    kinds = [kind for kind, weight in mix.items() for _ in range(weight)]
    rng.shuffle(kinds)
    print(f"\n== {name}: {args.seconds:g} s per rate ==")
    print(
        f"{'rate/s':>7} {'sent':>6} {'ok':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'late':>5} {'drv cpu':>8} {'load1':>11}  verdict"
    )
    steps = []
    for rate in rates:
        step = asyncio.run(run_step(base, workload, kinds, rate, args.seconds, args))
        steps.append(step)
        lat = step.all_latencies()
        verdict = "sustained" if step.sustained() else "NOT sustained"
        print(
            f"{rate:7g} {step.scheduled:6d} {len(lat):6d} {step.error_count():6d} {pct(lat, 0.5):8.1f} {pct(lat, 0.99):8.1f} "
            f"{step.late_sends:5d} {step.driver_cpu_s / step.seconds:7.0%} {step.load[0]:5.2f}>{step.load[1]:5.2f}  {verdict}",
            flush=True,
        )
        if len(mix) > 1:
            for kind in mix:
                k = step.latencies.get(kind, [])
                errs = step.errors.get(kind, {})
                err_text = ", ".join(f"{code} x{count}" for code, count in sorted(errs.items())) or "0"
                print(f"        {kind:30} ok {len(k):5d}  p50 {pct(k, 0.5):8.1f}  p99 {pct(k, 0.99):8.1f}  errors {err_text}")
        if not step.sustained():
            break
        time.sleep(2)  # let the server's queues drain before the next rate
    return steps


def refine(name: str, base: str, workload: Workload, mix: dict[str, int], steps: list[Step], args) -> list[Step]:
    """One more rate halfway between the last sustained rate and the first one that was not."""
    if len(steps) < 2 or steps[-1].sustained() or not steps[-2].sustained():
        return steps
    middle = round((steps[-2].rate + steps[-1].rate) / 2)
    if middle in (steps[-2].rate, steps[-1].rate):
        return steps
    time.sleep(5)
    return steps + ladder(name + " (refined)", base, workload, mix, [middle], args)


def purge(broker: str) -> int:
    """Empty the default queue of ``broker`` (a Redis database the bench owns); returns how many tasks it held."""
    if not broker.startswith("redis://"):
        return 0
    import redis

    client = redis.Redis.from_url(broker)
    count = client.llen("celery")
    client.delete("celery")
    return count


def best(steps: list[Step]) -> float | None:
    ok = [s.rate for s in steps if s.sustained()]
    return max(ok) if ok else None


def server_environment(args) -> dict[str, str]:
    """The settings the bench server runs with (also those of ``--profile``'s in-process requests)."""
    return {
        "DATABASE_URL": args.database_url,
        "CUSTOS_ENV": "development",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "60",
        "CUSTOS_THROTTLE_TOKEN_WRITE": "1000000/minute",
        "CUSTOS_THROTTLE_TOKEN_EXPENSIVE_READ": "1000000/minute",
        "CELERY_BROKER_URL": args.broker,
    }


def fresh_rng(args, rng: random.Random) -> random.Random:
    """``rng`` on a new database; with ``--reuse``, one seeded by how many events the database
    already holds, so the intake writes events it has not seen (a known event is answered 200
    without being applied again: far less work than the 201 of a new one)."""
    from lineage.models import LineageEvent

    known = LineageEvent.objects.count()
    return random.Random(f"{args.seed}:{known}") if known else rng


def profile(args) -> None:
    """``--profile N``: what each request of the mix costs, one at a time, in this process."""
    import cProfile
    import json
    import pstats
    import statistics

    os.environ.update(server_environment(args))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()  # with the server's profile; setup() below finds Django set up
    data = setup(args)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    events = bench_lineage().make_events(2 * (args.profile + 2), fresh_rng(args, random.Random(args.seed + 1)))
    workload = Workload(data["tokens"], data["suggested"], events, data["pages"], args.seed + 1)
    client = Client(raise_request_exception=False)
    print(
        f"in-process, one request at a time, {args.profile} per endpoint (+2 warm-up), settings of the bench server, "
        f"PostgreSQL ({args.database_url.rsplit('/', 1)[-1]}); load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine: wall times include waiting for a CPU)"
    )
    print(f"{'endpoint':30} {'wall ms':>8} {'cpu ms':>7} {'p-max':>7} {'queries':>7} {'sql ms':>7}  status")
    profiles = {}
    cpu_means = {}
    slowest: dict[str, list[tuple[str, list[float]]]] = {}
    for kind in [*MIX, "GET me"]:
        walls, cpus, query_counts, sql_ms, statuses = [], [], [], [], set()
        by_statement: dict[str, list[float]] = {}
        profiler = cProfile.Profile()
        for i in range(args.profile + 2):
            method, path, options = workload.request(kind)
            headers = {"HTTP_AUTHORIZATION": options["headers"]["Authorization"]}
            with CaptureQueriesContext(connection) as queries:
                w0, c0 = time.perf_counter(), time.process_time()
                if i >= 2:
                    profiler.enable()
                if method == "GET":
                    response = client.get(path, data=options.get("params"), **headers)
                else:
                    response = client.post(path, data=json.dumps(options["json"]), content_type="application/json", **headers)
                if i >= 2:
                    profiler.disable()
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            statuses.add(response.status_code)
            if i < 2:
                continue
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
            query_counts.append(len(queries.captured_queries))
            sql_ms.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            for q in queries.captured_queries:
                statement = re.sub(r"\b\d+\b|'[^']*'", "?", q["sql"])  # one shape per statement, whatever its values
                by_statement.setdefault(statement, []).append(float(q["time"]) * 1000)
        profiles[kind] = profiler
        slowest[kind] = sorted(by_statement.items(), key=lambda item: -sum(item[1]))[:2]
        cpu_means[kind] = statistics.mean(cpus)
        print(
            f"{kind:30} {statistics.median(walls):8.1f} {statistics.mean(cpus):7.1f} {max(walls):7.1f} "
            f"{statistics.median(query_counts):7.0f} {statistics.median(sql_ms):7.1f}  {sorted(statuses)}",
            flush=True,
        )
    weights = sum(MIX.values())
    mixed_cpu = sum(cpu_means[k] * w for k, w in MIX.items()) / weights
    print(
        f"\nmean CPU per request of the mix: {mixed_cpu:.1f} ms (no-op: {cpu_means['GET me']:.1f} ms), so 2 idle cores serve at "
        f"most about {2000 / mixed_cpu:.0f}/s of the mix (no-op: {2000 / cpu_means['GET me']:.0f}/s), before PostgreSQL's own CPU"
    )
    for kind in sorted(MIX, key=lambda k: -cpu_means[k]):
        print(f"\n-- {kind}: the project's functions by cumulative time ({args.profile} requests) --")
        stats = pstats.Stats(profiles[kind])
        rows = []
        for (filename, line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
            if filename.startswith(str(REPO)) and "/.venv/" not in filename:
                where = f"{Path(filename).relative_to(REPO)}:{line} {name}"
                if where.startswith("core/health.py") and name == "__call__":
                    where += " (the first middleware: the whole request)"
                rows.append((cumulative, where))
        for cumulative, where in sorted(rows, reverse=True)[:10]:
            print(f"  {cumulative / args.profile * 1000:8.1f} ms/request  {where}")
        for statement, times in slowest[kind]:
            per_request = sum(times) / args.profile
            text = " ".join(statement.split())
            print(f"  SQL {per_request:6.1f} ms/request ({len(times) / args.profile:g} per request): {text[:400]}")
    print(f"\ntasks the requests queued (purged, no worker ran them): {purge(args.broker)}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    args = parse_args()
    if args.profile:
        profile(args)
        return
    import logging

    rates = [float(r) for r in args.rates.split(",")]
    data = setup(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Django's logging config made it INFO
    lineage_bench = bench_lineage()
    rng = random.Random(args.seed)
    warm = lineage_bench.make_events(800, rng)  # the 200 jobs and their datasets the lineage reads walk
    budget = sum(rates) * 1.5  # the ladder plus a refined rate
    writes_needed = int(budget * args.seconds * MIX["POST lineage (intake)"] / sum(MIX.values())) + 100
    decisions_needed = int(budget * args.seconds * MIX["POST classification decision"] / sum(MIX.values())) + 100
    if len(data["suggested"]) < decisions_needed:
        raise SystemExit(
            f"needs {decisions_needed} suggested classifications, the catalog has {len(data['suggested'])}: raise --assets"
        )
    events = lineage_bench.make_events(writes_needed + writes_needed % 2, fresh_rng(args, rng))
    workload = Workload(data["tokens"], data["suggested"], events, data["pages"], args.seed)

    import httpx

    with tempfile.TemporaryDirectory(prefix="custos-load-prom-") as prom_dir:
        server = start_server(args, prom_dir)
        try:
            wait_ready(server, data["tokens"]["reader"])
            headers = {"Authorization": f"Bearer {data['tokens']['service']}"}
            for i in range(0, len(warm), 100):
                httpx.post(
                    f"{server.base}/api/v1/lineage/batch", json=warm[i : i + 100], headers=headers, timeout=600
                ).raise_for_status()
            print(
                f"gunicorn gthread {args.workers} workers x {args.threads} threads on PostgreSQL ({args.database_url.rsplit('/', 1)[-1]}), "
                f"{os.cpu_count()} CPUs, driver on the same machine (loopback); {args.assets} assets, {len(warm)} warm-up lineage events; "
                f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            title = "mixed reads and writes: " + ", ".join(f"{k} {v}%" for k, v in MIX.items())
            mixed = refine(title, server.base, workload, MIX, ladder(title, server.base, workload, MIX, rates, args), args)
            baseline = []
            if not args.no_baseline:
                title, noop = "baseline: no-op GET /api/v1/me", {"GET me": 1}
                baseline = refine(
                    title, server.base, workload, noop, ladder(title, server.base, workload, noop, rates, args), args
                )
        finally:
            server.stop()
            queued = purge(args.broker)
    print(f"tasks the requests queued (purged, no worker ran them): {queued}")
    top, top_base = best(mixed), best(baseline)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    failed = sorted(s.rate for s in mixed if not s.sustained())
    tested = (
        f"(lowest rate not sustained: {failed[0]:g}/s)"
        if failed
        else f"(every rate tried was sustained, up to {mixed[-1].rate:g}/s)"
    )
    print(
        f"highest sustained rate, mixed: {f'{top:g}' if top is not None else 'none'}/s {tested} -- no errors, p99 < {P99_TARGET_MS:g} ms"
    )
    if baseline:
        failed = sorted(s.rate for s in baseline if not s.sustained())
        bound = f"lowest rate not sustained: {failed[0]:g}/s" if failed else "every rate tried was sustained: a lower bound"
        print(f"highest sustained rate, no-op baseline: {f'{top_base:g}' if top_base is not None else 'none'}/s ({bound})")
        if top and top_base:
            print(f"ratio mixed / no-op: {top / top_base:.2f}")


if __name__ == "__main__":
    main()
