"""Ledger benchmarks (issue 3). Each figure is printed with its baseline, measured in the same run.

1. Append throughput of the batched sequencer (1,000 events per transaction) against one commit
   per event (the same sequencer with batches of 1), on SQLite (file, WAL) and PostgreSQL.
   Target: >= 10x.
2. ``audit_verify`` over a 1,000,000-event log against bare ``hashlib.sha256`` over the same
   bytes (every stored body, already in memory). Target: >= 0.5x. ``audit_verify`` runs with one
   worker and with its default (one worker per CPU), with the native ``audit._merkle`` when it is
   built (the report says which). Also printed, for context: the same bodies
   read from the database and hashed, and the hashing a verifier cannot avoid (leaf + interior
   node hashes) in memory. Each time is the best of three runs.
3. An inclusion proof in the 1,000,000-event log against recomputing the root from the stored
   leaf hashes. Target: >= 1,000x.

Usage: ``.venv/bin/python bench/ledger.py [--events 1000000] [--append 20000] [--single 2000]``.
PostgreSQL is used when reachable at ``BENCH_POSTGRES_URL`` (default
postgres://postgres@127.0.0.1:5432/postgres); a scratch database ``custos_bench_ledger`` is
created and dropped. Takes a few minutes; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_DB = "custos_bench_ledger"


# --- child: runs inside one configured Django process ---------------------------------------------


def _setup(database_url: str, var_dir: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "CUSTOS_ENV": "development",
            "CUSTOS_VAR_DIR": var_dir,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CUSTOS_LEDGER_SEQUENCE_ON_COMMIT": "0",  # the bench drives the sequencer itself
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def _add_pending(n: int, start: int = 0) -> None:
    from django.db import transaction

    from audit.services import record

    for offset in range(0, n, 1000):
        with transaction.atomic():
            for i in range(start + offset, start + min(offset + 1000, n)):
                record(actor="bench", action="bench.event", target_type="bench.thing", target_id=i, details={"i": i})


def bench_append(n_batched: int, n_single: int) -> dict:
    from django.db import connection

    from audit.sequencer import sequence_pending

    _add_pending(n_batched)
    started = time.perf_counter()
    assert sequence_pending(batch_size=1000) == n_batched
    batched = time.perf_counter() - started
    _add_pending(n_single, start=n_batched)
    started = time.perf_counter()
    assert sequence_pending(batch_size=1) == n_single
    single = time.perf_counter() - started
    return {
        "vendor": connection.vendor,
        "batched_per_s": n_batched / batched,
        "single_per_s": n_single / single,
        "batched_events": n_batched,
        "single_events": n_single,
    }


REPEATS = 3


def _best(run, repeats: int = REPEATS) -> float:
    """The shortest of ``repeats`` timed runs of ``run()``, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _body(i: int) -> bytes:
    # Exactly what audit.canonical.event_body produces for these values (RFC 8785: sorted keys).
    return (
        b'{"action":"bench.event","actor":{"id":"bench","type":"system"},"details":{"i":%d,"note":"synthetic"},'
        b'"reason":"","target":{"id":"%d","type":"bench.thing"},"time":%d,"v":1}' % (i, i, 1_795_000_000_000_000 + i)
    )


def _build_log(n: int) -> None:
    """n events inserted directly (a day of a busy catalog), then appended by the real sequencer."""
    from django.db import connection, transaction

    from audit import verify_core
    from audit.sequencer import sequence_pending

    with transaction.atomic(), connection.cursor() as cursor:
        step = 50_000
        for start in range(0, n, step):
            rows = []
            for i in range(start, min(start + step, n)):
                body = _body(i)
                rows.append(
                    (
                        "2026-11-26 00:00:00+00:00",
                        "system",
                        "bench",
                        "bench",
                        "bench.event",
                        "bench.thing",
                        str(i),
                        "",
                        json.dumps({"i": i, "note": "synthetic"}),
                        body,
                        verify_core.leaf_hash(body),
                    )
                )
            cursor.executemany(
                "INSERT INTO audit_auditevent (occurred_at, actor_type, actor_id, actor_name, action, target_type, target_id,"
                " reason, details, body, leaf_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        cursor.execute("INSERT INTO audit_pendingevent (event_id) SELECT id FROM audit_auditevent ORDER BY id")
    sequence_pending(batch_size=10_000)
    with connection.cursor() as cursor:
        # What a DBA does after a bulk load, and autovacuum soon after: without statistics on
        # a million new rows PostgreSQL plans the cross-checks blind.
        cursor.execute("ANALYZE")


def bench_verify_and_proofs(n: int) -> dict:
    import hashlib
    import random
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from audit import selectors, verify_core

    started = time.perf_counter()
    _build_log(n)
    build = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM audit_ledgerentry ORDER BY seq")
        bodies = [bytes(row[0]) for row in cursor.fetchall()]
    assert len(bodies) == n

    # Every figure is the best of REPEATS runs (as timeit does): the machine is shared, and the
    # minimum is the run least disturbed by anything else.
    sha = hashlib.sha256

    def bare_hashing() -> None:  # baseline: bare sha256 over every stored body, in memory
        for body in bodies:
            sha(body).digest()

    bare = _best(bare_hashing)
    # Context: the hashing a verifier cannot avoid, in memory (leaves + interior nodes).
    unavoidable = _best(lambda: verify_core.root_from_leaves(verify_core.leaf_hashes(bodies)))
    root = verify_core.root_from_leaves(verify_core.leaf_hashes(bodies))
    bodies.clear()  # free the memory before audit_verify runs

    def run_verify(workers: int) -> None:
        out = StringIO()
        call_command("audit_verify", "--no-sequence", "--workers", str(workers), stdout=out, skip_checks=True)
        assert out.getvalue().strip() == f"OK {n} {verify_core.b64(root)}", out.getvalue()

    default_workers = min(os.cpu_count() or 1, 8)
    verify = {workers: _best(lambda w=workers: run_verify(w)) for workers in sorted({1, default_workers})}

    def read_and_hash() -> None:  # baseline 2: the same bytes read from the database, then bare sha256
        with connection.cursor() as cursor:
            cursor.execute("SELECT body FROM audit_ledgerentry ORDER BY seq")
            for (body,) in cursor.fetchall():
                sha(body).digest()

    read_bare = _best(read_and_hash)

    # Baseline for proofs: recompute the root from the stored leaf hashes.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT leaf_hash FROM audit_ledgerentry ORDER BY seq")
        stored = [bytes(row[0]) for row in cursor.fetchall()]
    assert verify_core.root_from_leaves(stored) == root
    recompute = time.perf_counter() - started
    rng = random.Random(3)
    seqs = [rng.randrange(n) for _ in range(200)]
    started = time.perf_counter()
    for seq in seqs:
        proof = selectors.ledger_inclusion_proof(seq, n)
    per_proof = (time.perf_counter() - started) / len(seqs)
    assert verify_core.verify_inclusion(seqs[-1], n, proof.leaf_hash, proof.path, root)
    from audit import fast_merkle

    return {
        "vendor": connection.vendor,
        "native": fast_merkle.NATIVE,
        "events": n,
        "build_s": build,
        "bare_sha256_s": bare,
        "unavoidable_hashing_s": unavoidable,
        "audit_verify_s": verify[1],
        "default_workers": default_workers,
        "audit_verify_default_s": verify[default_workers],
        "read_and_bare_sha256_s": read_bare,
        "recompute_root_s": recompute,
        "inclusion_proof_s": per_proof,
    }


def child(args) -> None:
    _setup(args.database_url, args.var_dir)
    result = {"append": bench_append(args.append, args.single)}
    if args.events:
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:  # a fresh log for the 1M run
            from audit.maintenance import ledger_maintenance

            with ledger_maintenance(purpose="bench reset"):
                for table in (
                    "audit_pendingevent",
                    "audit_ledgernode",
                    "audit_checkpoint",
                    "audit_ledgerentry",
                    "audit_auditevent",
                ):
                    cursor.execute(f"DELETE FROM {table}")
        result["verify"] = bench_verify_and_proofs(args.events)
    print("RESULT " + json.dumps(result))


# --- parent: one child per database, then the report -------------------------------------------


def _postgres_url() -> str | None:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:  # noqa: BLE001 - no server: report and run SQLite only
        print(f"(PostgreSQL not reachable, skipped: {type(exc).__name__})")
        return None
    return base.rsplit("/", 1)[0] + "/" + PG_DB


def _drop_postgres() -> None:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")


def _run_child(database_url: str, var_dir: str, args, events: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--database-url",
        database_url,
        "--var-dir",
        var_dir,
        "--append",
        str(args.append),
        "--single",
        str(args.single),
        "--events",
        str(events),
    ]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"benchmark child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for the verify and proof figures")
    parser.add_argument("--append", type=int, default=20_000, help="events appended by the batched sequencer")
    parser.add_argument("--single", type=int, default=2_000, help="events appended one commit each")
    parser.add_argument("--verify-on-postgres", action="store_true", help="also run figures 2 and 3 on PostgreSQL")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(f"ledger benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(_run_child(f"sqlite:///{tmp}/bench.sqlite3", tmp, args, args.events))
        pg = _postgres_url()
        if pg:
            try:
                results.append(_run_child(pg, tmp, args, args.events if args.verify_on_postgres else 0))
            finally:
                _drop_postgres()

    print("\n1. Append throughput: batched sequencer vs one commit per event (target >= 10x)")
    for result in results:
        a = result["append"]
        ratio = a["batched_per_s"] / a["single_per_s"]
        print(
            f"   {a['vendor']:<10} batched {a['batched_per_s']:>9,.0f} events/s ({a['batched_events']:,} events)   "
            f"one commit per event {a['single_per_s']:>7,.0f} events/s ({a['single_events']:,})   -> {ratio:,.1f}x"
        )
    for result in results:
        v = result.get("verify")
        if not v:
            continue
        print(
            f"\n2. audit_verify over {v['events']:,} events ({v['vendor']}; log built in {v['build_s']:.0f} s) (target >= 0.5x)"
        )
        hashing = "native audit._merkle" if v.get("native") else "pure Python (audit._merkle is not built)"
        print(f"   audit_verify hashes with: {hashing}")
        print(f"   bare hashlib.sha256 over the same {v['events']:,} bodies, already in memory: {v['bare_sha256_s']:.2f} s")
        print(f"   the same bodies read from the database, then bare sha256: {v['read_and_bare_sha256_s']:.2f} s")
        print(
            f"   leaf + interior-node hashing alone, in memory (what any verifier must hash): {v['unavoidable_hashing_s']:.2f} s"
        )
        for key, label in (
            ("audit_verify_s", "--workers 1"),
            ("audit_verify_default_s", f"default: {v['default_workers']} workers"),
        ):
            t = v[key]
            print(
                f"   audit_verify ({label}): {t:.2f} s -> {v['bare_sha256_s'] / t:.2f}x bare in-memory hashing, "
                f"{v['read_and_bare_sha256_s'] / t:.2f}x read+hash, {v['unavoidable_hashing_s'] / t:.2f}x leaf+node hashing"
            )
        print(f"\n3. Inclusion proof in a {v['events']:,}-event log ({v['vendor']}) (target >= 1000x)")
        print(f"   recompute the root from the stored leaf hashes: {v['recompute_root_s'] * 1000:,.0f} ms")
        print(f"   inclusion proof from stored subtrees (mean of 200): {v['inclusion_proof_s'] * 1000:.2f} ms")
        print(f"   -> {v['recompute_root_s'] / v['inclusion_proof_s']:,.0f}x")


if __name__ == "__main__":
    main()
