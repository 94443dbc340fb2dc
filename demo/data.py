"""Working copies of the demo data.

The demo catalog never points at the git-tracked files in ``fixtures/data/``: retention deletes,
archives and anonymization outputs act on an asset's location, and nothing a user does through
Custos may modify the repository. ``demo_data_prepare()`` copies ``fixtures/data/`` to
``<CUSTOS_VAR_DIR>/demo-data/`` (``var/`` is git-ignored and is a configured data root in the
local profiles) and ``demo_location()`` maps a catalog file's ``fixtures/data/...`` location onto
that copy. An existing copy is kept (a user's retention run stays applied) unless ``reset=True``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

FIXTURE_DATA = Path(settings.BASE_DIR) / "fixtures" / "data"
FIXTURE_PREFIX = "fixtures/data/"


def demo_data_dir() -> Path:
    """Where the working copies live: ``<CUSTOS_VAR_DIR>/demo-data``."""
    return Path(settings.VAR_DIR) / "demo-data"


def demo_data_prepare(*, reset: bool = False) -> tuple[Path, int]:
    """Copy every fixture data file missing from the working copy (all of them with ``reset``).

    Returns (the copy's directory, the number of files copied)."""
    target = demo_data_dir()
    copied = 0
    for source in sorted(FIXTURE_DATA.rglob("*")):
        if not source.is_file():
            continue
        dest = target / source.relative_to(FIXTURE_DATA)
        if dest.exists() and not reset:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
        copied += 1
    return target, copied


def demo_location(location: str) -> str:
    """The working-copy location of a catalog file location; other locations unchanged.

    ``fixtures/data/hospital/patients.parquet`` -> ``<var>/demo-data/hospital/patients.parquet``
    (absolute, so no reader depends on the working directory)."""
    if not location.startswith(FIXTURE_PREFIX):
        return location
    return str(demo_data_dir() / location[len(FIXTURE_PREFIX) :])
