"""Bounded memory on a hostile file (issue 17, item 1): peak RSS and time of ``manage.py scan`` on
the issue's file -- a ~1 MB ``.csv.gz`` whose second row holds one 1 GiB cell -- with the line cap
(``CUSTOS_DATASET_MAX_LINE_BYTES``, 16 MiB by default) and, as the baseline in the same run, with
the cap lifted above the cell (2 GiB: the readers as they were before the cap).

    .venv/bin/python bench/memory.py [--cell-mib 1024] [--no-baseline]

Each scan runs in its own process (``CUSTOS_ENV=test``, a fresh var directory: the scan is not
recorded); its peak RSS comes from ``wait4``'s rusage of that child only. Printed: exit status,
the last line of stderr, peak RSS in MiB and seconds, for the capped run and the baseline. The
baseline needs about 4.5 GB of free memory (``--no-baseline`` skips it).
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


def scan(path: Path, var: Path, extra_env: dict[str, str]) -> tuple[int, str, float, float]:
    env = {
        "PATH": "/usr/bin:/bin",
        "CUSTOS_ENV": "test",
        "CUSTOS_VAR_DIR": str(var),
        "CUSTOS_DATA_ROOTS": str(path.parent),
        **extra_env,
    }
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "scan", str(path), "--json"], cwd=REPO, env=env, stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        err.seek(0)
        lines = [line for line in err.read().splitlines() if line.strip()]
    return os.waitstatus_to_exitcode(status), (lines[-1] if lines else ""), usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell-mib", type=int, default=1024)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bigcell.csv.gz"
        make_file(path, args.cell_mib)
        print(f"file: {path.name}, {path.stat().st_size / 1e6:.2f} MB on disk, one cell of {args.cell_mib} MiB")
        runs = [("capped (default 16 MiB line cap)", {})]
        if not args.no_baseline:
            runs.append(("baseline (cap lifted to 2 GiB)", {"CUSTOS_DATASET_MAX_LINE_BYTES": str(2 << 30)}))
        for label, extra in runs:
            code, last, rss, seconds = scan(path, Path(tmp) / f"var-{len(extra)}", extra)
            print(f"{label}: exit {code}, peak RSS {rss:,.0f} MiB, {seconds:.1f} s -- {last[:160]}")


if __name__ == "__main__":
    main()
