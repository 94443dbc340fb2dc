"""Bounded memory on hostile inputs (issue 17, item 1): peak RSS and time of ``manage.py scan`` and
``manage.py anonymize`` on the issue's file -- a ~1 MB ``.csv.gz`` whose second row holds one 1 GiB
cell -- and of ``manage.py anonymize`` on a SQLite table holding one 100 MB text value, each with the
cap (``CUSTOS_DATASET_MAX_LINE_BYTES``, 16 MiB by default) and, as the baseline in the same run,
with the cap lifted above the value (2 GiB: the readers as they were before the cap).

    .venv/bin/python bench/memory.py [--cell-mib 1024] [--value-mib 100] [--no-baseline] [--timeout 300]

Each command runs in its own process (``CUSTOS_ENV=test``, a fresh var directory and database,
migrated once); its peak RSS comes from ``wait4``'s rusage of that child only. Printed: exit
status, the last line of stderr, peak RSS in MiB and seconds, capped and baseline. A baseline
still running after ``--timeout`` seconds is killed (said so). The baselines need about 4.5 GB of
free memory (``--no-baseline`` skips them).
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_file(path: Path, cell_mib: int) -> None:
    block = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(b"id,note\n1,")
        for _ in range(cell_mib):
            fh.write(block)
        fh.write(b"\n")


def make_table(path: Path, value_mib: int) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE visits (id INTEGER, note TEXT)")
        conn.execute("INSERT INTO visits VALUES (1, 'seen today'), (2, ?)", ("b" * (value_mib << 20),))


def run(args: list[str], env: dict[str, str], timeout: float) -> tuple[int | str, str, float, float]:
    """(exit status or "killed", last line of stderr, peak RSS MiB, seconds) of ``manage.py ARGS``."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=REPO, env=env, stdout=out, stderr=err)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                killed = True
                _pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        err.seek(0)
        lines = [line for line in err.read().splitlines() if line.strip()]
    code: int | str = "killed at timeout" if killed else os.waitstatus_to_exitcode(status)
    return code, (lines[-1] if lines else ""), usage.ru_maxrss / 1024, seconds


def environment(var: Path, root: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "CUSTOS_ENV": "test",
        "CUSTOS_VAR_DIR": str(var),
        "CUSTOS_DATA_ROOTS": str(root),
        "CUSTOS_POLICY_KEY_DIR": str(var / "keys"),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell-mib", type=int, default=1024)
    parser.add_argument("--value-mib", type=int, default=100)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is killed")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path, db = root / "bigcell.csv.gz", root / "bigvalue.db"
        make_file(path, args.cell_mib)
        make_table(db, args.value_mib)
        print(f"file : {path.name}, {path.stat().st_size / 1e6:.2f} MB on disk, one cell of {args.cell_mib} MiB")
        print(f"table: {db.name}#visits, one text value of {args.value_mib} MiB")
        var = root / "var"
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=environment(var, root, {}), capture_output=True
        )
        if migrated.returncode:
            raise SystemExit(f"migrate failed: {migrated.stderr.decode()[-300:]}")
        commands = [
            ("scan file        ", ["scan", str(path), "--json"]),
            ("anonymize file   ", ["anonymize", str(path), "--policy", "hipaa-safe-harbor", "--out", str(root / "out.csv.gz")]),
            (
                "anonymize table  ",
                ["anonymize", f"sqlite:///{db}#visits", "--policy", "hipaa-safe-harbor", "--out", str(root / "table_out.csv")],
            ),
        ]
        lifted = {"CUSTOS_DATASET_MAX_LINE_BYTES": str(2 << 30)}
        for label, command in commands:
            runs = [("capped (16 MiB)", {})] + ([] if args.no_baseline else [("baseline (2 GiB)", lifted)])
            for which, extra in runs:
                code, last, rss, seconds = run(command, environment(var, root, extra), args.timeout)
                print(f"{label}{which:<17}: exit {code}, peak RSS {rss:,.0f} MiB, {seconds:.1f} s -- {last[:150]}")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
