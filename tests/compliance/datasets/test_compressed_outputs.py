"""A ``.csv.gz`` / ``.jsonl.bz2`` output is written compressed (it was plain text under a ``.gz``
name, so anonymizing a ``.csv.gz`` asset failed when its own verification read the output back)."""

from __future__ import annotations

import bz2
import gzip

import pandas as pd
import pytest

from compliance.datasets import open_writer, read_frame, write_frame


@pytest.mark.parametrize(("name", "opener"), [("out.csv.gz", gzip.open), ("out.jsonl.bz2", bz2.open), ("out.csv", open)])
def test_an_output_is_compressed_as_its_name_says_and_reads_back_as_written(tmp_path, name, opener):
    frame = pd.DataFrame({"id": ["1", "2"], "note": ["seen today", "called, back"]})
    write_frame(frame, tmp_path / name)
    with opener(tmp_path / name, "rt", encoding="utf-8") as fh:
        assert "called, back" in fh.read()
    assert read_frame(tmp_path / name).astype(str).to_dict("records") == frame.to_dict("records")


def test_an_empty_compressed_output_is_a_valid_empty_file(tmp_path):
    writer = open_writer(tmp_path / "empty.csv.gz")
    writer.commit()
    assert gzip.decompress((tmp_path / "empty.csv.gz").read_bytes()) == b""
