"""Shared by the file-based commands: read a data file through compliance.datasets (its location
rules apply: inside a configured data root, never the app's own database) and fail in one line."""

from __future__ import annotations

import pandas as pd
from django.core.management.base import CommandError


def read_rows(path: str, *, what: str) -> pd.DataFrame:
    from compliance import datasets

    try:
        loc = datasets.resolve(path)
        return datasets.read_frame(loc)
    except datasets.LocationRefused as exc:
        raise CommandError(f"{what}: {'; '.join(exc.messages)}") from exc
    except datasets.ReadError as exc:
        raise CommandError(f"{what}: cannot be read ({type(exc).__name__})") from exc
