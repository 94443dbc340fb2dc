"""Size caps of the datasets readers (issue 17, item 1): a record, a row count or a Parquet row group
over its cap is refused with one line naming the setting, before the parser holds it; truncated
and corrupt compressed files and over-deep JSON lines are clean ``SourceError``s."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from compliance.datasets import read_chunks, read_frame, resolve
from compliance.datasets.limits import DataLimitExceeded
from compliance.datasets.sources import SourceError, open_source

MiB = 1 << 20


def write_gz(path, parts) -> None:
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for part in parts:
            fh.write(part)


def rows(target) -> list:
    return [len(frame) for frame in read_chunks(target)]


@pytest.fixture
def small_cap(settings):
    settings.CUSTOS_DATASET_MAX_LINE_BYTES = MiB
    return MiB


def test_a_gzipped_csv_with_a_cell_over_the_line_cap_is_refused_naming_the_line_and_the_setting(tmp_path, small_cap):
    path = tmp_path / "bomb.csv.gz"
    write_gz(path, [b"id,note\n1,short\n2,", b"x" * (4 * MiB), b"\n3,short\n"])
    with pytest.raises(DataLimitExceeded) as caught:
        rows(str(path))
    message = str(caught.value)
    assert message == ("bomb.csv.gz: line 3 is longer than 1 MiB (CUSTOS_DATASET_MAX_LINE_BYTES): refused before reading it")
    assert "xxx" not in message and "\n" not in message
    with pytest.raises(DataLimitExceeded):  # the row count a scan starts with refuses it as well
        open_source(resolve(str(path))).count_rows()


def test_a_quoted_cell_spanning_many_short_lines_counts_as_one_record(tmp_path, small_cap):
    path = tmp_path / "multiline.csv"
    cell = "\n".join(["y" * 100] * 20_000)  # 2 MB over 20,000 physical lines, each short
    path.write_text(f'id,note\n1,"{cell}"\n2,ok\n')
    with pytest.raises(DataLimitExceeded, match="line 2 is longer than 1 MiB"):
        rows(str(path))


def test_records_under_the_cap_read_exactly_as_pandas_reads_them(tmp_path, small_cap):
    path = tmp_path / "quoted.csv"
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(3000)],
            "note": [f'he said "hi",\nthen {i}' if i % 3 else "z" * 5000 for i in range(3000)],
        }
    )
    frame.to_csv(path, index=False)
    got = read_frame(str(path))
    assert got["note"].tolist() == frame["note"].tolist() and len(got) == 3000


def test_a_json_line_over_the_cap_is_refused_before_it_is_decoded(tmp_path, small_cap):
    path = tmp_path / "events.jsonl.gz"
    write_gz(path, [b'{"a": 1}\n{"a": "', b"q" * (3 * MiB), b'"}\n'])
    with pytest.raises(
        DataLimitExceeded, match=r"^events.jsonl.gz: line 2 is longer than 1 MiB \(CUSTOS_DATASET_MAX_LINE_BYTES\)"
    ):
        rows(str(path))


def test_a_jsonl_line_nested_100k_deep_is_a_clean_source_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(SourceError, match="^deep.jsonl: line 2 nests too deep to decode$"):
        rows(str(path))


@pytest.mark.parametrize("name", ["cut.csv.gz", "cut.jsonl.gz"])
def test_a_truncated_gzip_file_is_a_clean_source_error(tmp_path, name):
    whole = tmp_path / ("whole" + name[3:])
    body = b"".join(json.dumps({"id": i, "email": f"p{i}@example.org"}).encode() + b"\n" for i in range(50_000))
    if name.endswith(".csv.gz"):
        body = b"id,email\n" + b"".join(f"{i},p{i}@example.org\n".encode() for i in range(50_000))
    write_gz(whole, [body])
    cut = tmp_path / name
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(SourceError, match=f"^{name}: the compressed file is truncated$"):
        rows(str(cut))


def test_a_corrupt_gzip_file_is_a_clean_source_error(tmp_path):
    path = tmp_path / "junk.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00garbage" * 100)
    with pytest.raises(SourceError, match="^junk.csv.gz: cannot decompress the file"):
        rows(str(path))


def test_a_text_file_with_more_rows_than_the_cap_is_refused(tmp_path, settings):
    settings.CUSTOS_DATASET_MAX_ROWS = 1000
    path = tmp_path / "many.csv"
    path.write_text("id\n" + "".join(f"{i}\n" for i in range(1001)))
    with pytest.raises(DataLimitExceeded, match=r"^many.csv: more than 1,000 rows \(CUSTOS_DATASET_MAX_ROWS\)$"):
        rows(str(path))
    jsonl = tmp_path / "many.jsonl"
    jsonl.write_text("".join(f'{{"id": {i}}}\n' for i in range(1001)))
    with pytest.raises(DataLimitExceeded, match="CUSTOS_DATASET_MAX_ROWS"):
        rows(str(jsonl))
    exact = tmp_path / "exact.csv"
    exact.write_text("id\n" + "".join(f"{i}\n" for i in range(1000)))
    assert sum(rows(str(exact))) == 1000


def test_a_parquet_row_group_over_the_byte_cap_is_refused_from_its_metadata(tmp_path, settings):
    settings.CUSTOS_DATASET_MAX_GROUP_BYTES = MiB
    path = tmp_path / "wide.parquet"
    pd.DataFrame({"id": range(10), "blob": ["b" * (2 * MiB)] + [""] * 9}).to_parquet(path)
    with pytest.raises(DataLimitExceeded, match=r"^wide.parquet: row group 0 holds more than 1 MiB uncompressed"):
        rows(str(path))
    # the small column alone is under the cap: a projection reads it
    assert [len(f) for f in read_chunks(str(path), columns=["id"])] == [10]
