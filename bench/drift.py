"""Drift report speed and memory against Evidently 0.7.23 on the same data, in the same run.

    python bench/drift.py [--rows 1000000] [--skip-evidently]

Case 1: 1,000,000 rows x 50 columns reference and current (30 continuous, 5 wide integer, 5 low-cardinality
numeric, 10 categorical; a third of them shifted), the full per-column drift report with Evidently's
default rules, by Custos (monitoring.stats) and by Evidently (its DataDriftTable, which its
DataDriftPreset runs), each in its own process so each peak RSS is its own. Both processes generate the
same seeded data (checked by a fingerprint) and time only the report. Prints both times, the ratio,
both peak memories, and whether every column got the same method and the same decision.

Case 2 (the reference-profile path): a 10,000,000-row reference is profiled chunk by chunk (10 chunks of
1M rows, never all in memory), the profile stored as JSON and loaded back, and a 1M-row current batch is
checked against it without re-reading the reference. Printed: profile build time, profile size, check
time, peak RSS; and, on 10 of the columns, the exact report against the full 10M-row reference (held in
memory for the comparison only): its time and whether every decision is the same.

Evidently runs in its own venv (pandas < 3), built once by tests/monitoring/golden/regenerate.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
N_COLS = 50


def make_frame(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d: dict[str, np.ndarray] = {}
    for i in range(30):
        shift = 0.05 * (i % 4) if shifted and i % 3 == 0 else 0.0
        d[f"num{i}"] = rng.normal(shift, 1.0, n)
    for i in range(5):
        d[f"int{i}"] = rng.integers(0, 100 + (10 if shifted and i < 2 else 0), n)
    for i in range(5):
        p = [0.4, 0.3, 0.2, 0.1] if not (shifted and i < 2) else [0.25, 0.25, 0.25, 0.25]
        d[f"low{i}"] = rng.choice([0.0, 1.0, 2.0, 3.0], n, p=p)
    cats = np.array([f"c{j:02d}" for j in range(20)], dtype=object)
    for i in range(10):
        k = 15 if shifted and i < 3 else 20
        d[f"cat{i}"] = cats[rng.integers(0, k, n)]
    return pd.DataFrame(d)


KINDS = {**{f"num{i}": "num" for i in range(30)}, **{f"int{i}": "num" for i in range(5)}, **{f"low{i}": "num" for i in range(5)}}
KINDS.update({f"cat{i}": "cat" for i in range(10)})


def fingerprint(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for col in frame.columns[::7]:
        v = frame[col].to_numpy()
        h.update(v.tobytes() if v.dtype.kind in "fi" else "|".join(v[:10000]).encode())
    return h.hexdigest()[:16]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(engine: str, rows: int) -> dict:
    ref, cur = make_frame(rows, 1, False), make_frame(rows, 2, True)
    after_data = rss_mb()
    start = time.perf_counter()
    if engine == "custos":
        sys.path.insert(0, str(ROOT))
        from monitoring.stats.drift import drift_frames

        report = drift_frames(ref, cur, kinds=KINDS)
        cols = {c.name: {"method": c.method, "score": c.score, "drifted": c.drifted} for c in report.columns}
        share = report.share_drifted
    else:
        from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
        from evidently.legacy.metrics import DataDriftTable
        from evidently.legacy.pipeline.column_mapping import ColumnMapping
        from evidently.legacy.report import Report

        names = {t.display_name: name for name, by_kind in _registered_stat_tests.items() for t in by_kind.values()}
        mapping = ColumnMapping(
            target=None,
            prediction=None,
            numerical_features=[c for c, k in KINDS.items() if k == "num"],
            categorical_features=[c for c, k in KINDS.items() if k == "cat"],
        )
        r = Report(metrics=[DataDriftTable()])
        r.run(reference_data=ref, current_data=cur, column_mapping=mapping)
        res = r.as_dict()["metrics"][0]["result"]
        cols = {
            n: {"method": names[c["stattest_name"]], "score": float(c["drift_score"]), "drifted": bool(c["drift_detected"])}
            for n, c in res["drift_by_columns"].items()
        }
        share = res["share_of_drifted_columns"]
    seconds = time.perf_counter() - start
    return {
        "engine": engine,
        "seconds": seconds,
        "peak_rss_mb": rss_mb(),
        "rss_after_data_mb": after_data,
        "fingerprint": [fingerprint(ref), fingerprint(cur)],
        "share_drifted": share,
        "columns": cols,
    }


PROFILE_CHECK_COLUMNS = ["num0", "num3", "num6", "num7", "int0", "int3", "low0", "low3", "cat0", "cat5"]


def profile_worker(ref_rows: int, cur_rows: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from monitoring.stats.drift import drift_frames
    from monitoring.stats.profile import DatasetProfile, drift_against_profile

    chunk = 1_000_000
    start = time.perf_counter()
    profile = None
    kept = {c: [] for c in PROFILE_CHECK_COLUMNS}
    gen_seconds = 0.0
    for i in range(ref_rows // chunk):
        t = time.perf_counter()
        frame = make_frame(chunk, 100 + i, False)
        gen_seconds += time.perf_counter() - t
        for c in PROFILE_CHECK_COLUMNS:
            kept[c].append(frame[c].to_numpy())
        p = DatasetProfile.from_frame(frame, kinds=KINDS)
        profile = p if profile is None else profile.merge(p)
        del frame
    build = time.perf_counter() - start - gen_seconds
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "drift-reference-profile.json"
    path.write_text(json.dumps(profile.to_json()))
    size = path.stat().st_size
    del profile
    current = make_frame(cur_rows, 2, True)
    t = time.perf_counter()
    stored = DatasetProfile.from_json(json.loads(path.read_text()))
    report = drift_against_profile(stored, current)
    check = time.perf_counter() - t
    by = {c.name: c for c in report.columns}
    reference = pd.DataFrame({c: np.concatenate(v) for c, v in kept.items()})
    del kept
    t = time.perf_counter()
    exact = drift_frames(reference, current[PROFILE_CHECK_COLUMNS], kinds={c: KINDS[c] for c in PROFILE_CHECK_COLUMNS})
    exact_seconds = time.perf_counter() - t
    same = [c.name for c in exact.columns if by[c.name].drifted == c.drifted and by[c.name].method == c.method]
    return {
        "build_seconds": build,
        "profile_bytes": size,
        "check_seconds": check,
        "approximate_columns": sum(c.approximate for c in report.columns),
        "drifted": sum(c.drifted for c in report.columns),
        "exact_seconds_10_columns": exact_seconds,
        "same_decisions_10_columns": len(same),
        "largest_score_difference_10_columns": max(abs(by[c.name].score - c.score) for c in exact.columns),
        "peak_rss_mb": rss_mb(),
    }


def run_worker(python: str, engine: str, rows: int) -> dict:
    env = {**os.environ, "DO_NOT_TRACK": "1", "PYTHONPATH": ""}
    done = subprocess.run(
        [python, "-W", "ignore", __file__, "--worker", engine, "--rows", str(rows)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{engine} worker failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores (shared machine: other jobs run too)"


def evidently_python() -> str:
    sys.path.insert(0, str(ROOT / "tests" / "monitoring" / "golden"))
    from regenerate import DEFAULT_VENV, ensure_venv

    return str(ensure_venv(DEFAULT_VENV))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--reference-rows", type=int, default=10_000_000, help="case 2's profiled reference")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--worker", choices=["custos", "evidently", "profile"])
    args = parser.parse_args()
    if args.worker == "profile":
        json.dump(profile_worker(args.reference_rows, args.rows), sys.stdout)
        return
    if args.worker:
        json.dump(worker(args.worker, args.rows), sys.stdout)
        return

    print(time.strftime("run %Y-%m-%d %H:%M UTC", time.gmtime()))
    print(f"case 1: {args.rows:,} rows x {N_COLS} columns, reference and current, full per-column drift report")
    print(f"  before: {load()}")
    ours = run_worker(sys.executable, "custos", args.rows)
    print(
        f"  custos     {ours['seconds']:8.2f} s   peak RSS {ours['peak_rss_mb']:7.0f} MB (after generating the data {ours['rss_after_data_mb']:.0f} MB)"
    )
    if not args.skip_evidently:
        case_1_evidently(ours, args.rows)
    print(f"  after: {load()}")
    if args.skip_profile:
        return
    print(
        f"case 2: {args.reference_rows:,}-row reference profiled chunk by chunk, {args.rows:,}-row current batch checked against the stored profile"
    )
    env_args = [
        sys.executable,
        "-W",
        "ignore",
        __file__,
        "--worker",
        "profile",
        "--rows",
        str(args.rows),
        "--reference-rows",
        str(args.reference_rows),
    ]
    done = subprocess.run(env_args, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""})
    r = json.loads(done.stdout)
    print(
        f"  profile build {r['build_seconds']:.1f} s (data generation not counted), stored profile {r['profile_bytes'] / 1e6:.2f} MB"
    )
    print(
        f"  check of the current batch against the stored profile (load included): {r['check_seconds']:.2f} s, {r['drifted']} columns drifted, {r['approximate_columns']} from sketches"
    )
    print(
        f"  on 10 columns, exact report against the full in-memory reference: {r['exact_seconds_10_columns']:.2f} s; "
        f"same decisions on {r['same_decisions_10_columns']}/10, largest score difference {r['largest_score_difference_10_columns']:.2e}"
    )
    print(f"  peak RSS {r['peak_rss_mb']:.0f} MB (includes the 10 reference columns kept in memory for the exact comparison)")
    print(f"  after: {load()}")


def case_1_evidently(ours: dict, rows: int) -> None:
    theirs = run_worker(evidently_python(), "evidently", rows)
    print(
        f"  evidently  {theirs['seconds']:8.2f} s   peak RSS {theirs['peak_rss_mb']:7.0f} MB (after generating the data {theirs['rss_after_data_mb']:.0f} MB)"
    )
    assert ours["fingerprint"] == theirs["fingerprint"], "the two processes generated different data"
    same_method = [c for c in ours["columns"] if ours["columns"][c]["method"] == theirs["columns"][c]["method"]]
    same_decision = [c for c in ours["columns"] if ours["columns"][c]["drifted"] == theirs["columns"][c]["drifted"]]
    diffs = [abs(ours["columns"][c]["score"] - theirs["columns"][c]["score"]) for c in ours["columns"]]
    drifted = sum(v["drifted"] for v in ours["columns"].values())
    print(f"  speed-up   {theirs['seconds'] / ours['seconds']:.1f}x")
    print(
        f"  same method on {len(same_method)}/{N_COLS} columns, same decision on {len(same_decision)}/{N_COLS} columns ({drifted} drifted)"
    )
    print(
        f"  largest score difference {max(diffs):.2e}; share drifted {ours['share_drifted']:.3f} vs {theirs['share_drifted']:.3f}"
    )


if __name__ == "__main__":
    main()
