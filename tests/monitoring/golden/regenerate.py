"""Regenerate the Evidently golden file: `python tests/monitoring/golden/regenerate.py [--venv DIR]`.

Builds (once) a venv outside the repository with evidently==0.7.23 and pandas<3 from PyPI (Evidently
0.7.23 does not import under pandas 3), runs oracle.py in it as a subprocess and writes
evidently-0.7.23.json next to this file. Nothing of Evidently's is copied into the repository; only its
outputs on our seeded data are kept.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "evidently-0.7.23.json"
REQUIREMENTS = ["evidently==0.7.23", "pandas<3"]
DEFAULT_VENV = Path("/tmp/evidently-0.7.23")


def ensure_venv(path: Path) -> Path:
    """The venv's python, creating the venv and installing Evidently if needed."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", "import evidently, sys; sys.exit(evidently.__version__ != '0.7.23')"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    venv.EnvBuilder(with_pip=True, clear=python.exists()).create(path)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where Evidently's venv lives (outside the repo)")
    parser.add_argument("--out", type=Path, default=GOLDEN)
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    env = {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", "DO_NOT_TRACK": "1"}  # Evidently's telemetry off
    done = subprocess.run(
        [str(python), "-W", "ignore", str(HERE / "oracle.py")], capture_output=True, text=True, check=True, env=env
    )
    data = json.loads(done.stdout)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out} (evidently {data['evidently']}, pandas {data['pandas']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
