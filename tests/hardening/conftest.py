"""Fixtures of the hardening tests (issue 17): hostile inputs, built once per session."""

from __future__ import annotations

import gzip

import pytest

GiB = 1 << 30


@pytest.fixture(scope="session")
def one_gib_cell_csv_gz(tmp_path_factory):
    """A ~1 MB ``.csv.gz`` whose second row holds one 1 GiB cell (the issue's file)."""
    path = tmp_path_factory.mktemp("bomb") / "bigcell.csv.gz"
    block = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(b"id,note\n1,")
        for _ in range(GiB // len(block)):
            fh.write(block)
        fh.write(b"\n")
    return path


@pytest.fixture
def data_root(settings, one_gib_cell_csv_gz, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [one_gib_cell_csv_gz.parent, tmp_path]
    settings.CUSTOS_SCAN_ROOTS = settings.CUSTOS_DATA_ROOTS
    return one_gib_cell_csv_gz.parent
