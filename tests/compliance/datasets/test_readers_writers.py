"""Readers (chunks, projection, samples, schemas) and writers (atomic outputs, table deletes)."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from compliance import datasets
from compliance.datasets import LocationRefused


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"id": [str(i) for i in range(1000)], "email": [f"u{i}@example.com" for i in range(1000)], "n": range(1000)}
    )


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.jsonl", "t.db#rows"])
def test_every_format_streams_in_chunks_with_projection_and_limit(tmp_path, frame, name):
    location = str(tmp_path / name)
    if name.endswith("#rows"):
        with sqlite3.connect(tmp_path / "t.db") as conn:
            frame.to_sql("rows", conn, index=False)
        location = f"sqlite:///{tmp_path}/{name}"
    elif name.endswith(".parquet"):
        frame.to_parquet(location)
    elif name.endswith(".jsonl"):
        frame.to_json(location, orient="records", lines=True)
    else:
        frame.to_csv(location, index=False)
    chunks = list(datasets.read_chunks(location, columns=["email"], chunk_rows=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert all(list(c.columns) == ["email"] for c in chunks)
    assert chunks[1].index[0] == 300 and chunks[3]["email"].iloc[-1] == "u999@example.com"
    head = datasets.read_frame(location, limit=7)
    assert len(head) == 7 and list(head.columns) == ["id", "email", "n"]
    assert [c.name for c in datasets.read_schema(location)] == ["id", "email", "n"]


def test_projection_on_an_unknown_column_is_a_clear_error(tmp_path, frame):
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(datasets.ReadError, match="lacks some of the requested columns"):
        datasets.read_frame(str(tmp_path / "t.csv"), columns=["nope"])


def test_a_sample_is_seeded_uniform_and_bounded(tmp_path, frame):
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    loc = str(tmp_path / "t.parquet")
    a = datasets.read_sample(loc, n=50, seed=3)
    assert len(a) == 50 and a.index.is_monotonic_increasing
    assert a.equals(datasets.read_sample(loc, n=50, seed=3))
    assert not a.index.equals(datasets.read_sample(loc, n=50, seed=4).index)
    assert a.index.max() > 500  # not just the head of the file
    assert len(datasets.read_sample(loc, n=5000, seed=3)) == 1000


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.jsonl", "out.db#copy"])
def test_write_frame_round_trips_and_leaves_no_partial_file(tmp_path, frame, name):
    target = f"sqlite:///{tmp_path}/{name}" if "#" in name else str(tmp_path / name)
    datasets.write_frame(frame, target)
    back = datasets.read_frame(target)
    assert back["email"].tolist() == frame["email"].tolist()
    assert not list(tmp_path.glob("*.partial"))


def test_an_aborted_writer_leaves_the_target_as_it_was(tmp_path, frame):
    target = tmp_path / "out.csv"
    target.write_text("before\n")
    writer = datasets.open_writer(str(target))
    writer.write(frame)
    writer.abort()
    assert target.read_text() == "before\n" and not list(tmp_path.glob("*.partial"))


def test_writers_refuse_the_apps_database_and_paths_outside_the_roots(tmp_path, frame):
    files = datasets.locations.app_database_files()
    if not files:
        pytest.skip("the app database is not a SQLite file in this run (PostgreSQL pass)")
    app_db = files[0]
    with pytest.raises(LocationRefused, match="own database"):
        datasets.write_frame(frame, f"sqlite:///{app_db}#audit_ledgerentry")
    with pytest.raises(LocationRefused, match="outside"):
        datasets.write_frame(frame, "/tmp/custos-outside-roots.csv")
    with pytest.raises(LocationRefused):
        datasets.TableHandle(f"sqlite:///{app_db}#audit_ledgerentry")


def test_a_table_handle_deletes_rows_by_key(tmp_path, frame):
    with sqlite3.connect(tmp_path / "t.db") as conn:
        frame.to_sql("rows", conn, index=False)
    table = datasets.TableHandle(f"sqlite:///{tmp_path}/t.db#rows")
    keyed = table.keyed_column("n")
    assert table.delete(keyed.loc[keyed["value"] < 10, "key"].tolist()) == 10
    table.close(commit=True)
    assert len(datasets.read_frame(f"sqlite:///{tmp_path}/t.db#rows")) == 990
