"""Fixtures of the datasets tests: tmp_path is the only data root; the PII engine once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_root(settings, tmp_path):
    """Each test's tmp_path is the data root (compliance.datasets reads nothing outside the roots)."""
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    return tmp_path


@pytest.fixture(scope="session")
def engine():
    from compliance.scanning.engine import get_engine

    return get_engine()
