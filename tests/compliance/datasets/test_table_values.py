"""A huge single value in a database table (issue 17, item 1: "huge single values in DB tables"):
the select sends NULL in place of a value over ``CUSTOS_DATASET_MAX_LINE_BYTES`` and names its
column, so the reader refuses the table with one line (table, row, column, setting) and the
value never leaves the database. Values under the cap read exactly as before."""

from __future__ import annotations

import sqlite3

import pytest

from compliance.datasets import read_chunks, read_frame
from compliance.datasets.limits import DataLimitExceeded

MiB = 1 << 20


def make_table(path, rows) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE notes (id INTEGER, "note text" TEXT, photo BLOB, score REAL)')
        conn.executemany("INSERT INTO notes VALUES (?, ?, ?, ?)", rows)
    return f"sqlite:///{path}#notes"


def test_values_under_the_cap_read_exactly_with_their_types(tmp_path, settings):
    settings.CUSTOS_DATASET_MAX_LINE_BYTES = MiB
    rows = [(1, "ok", b"\x00\x01", 1.5), (2, None, None, None), (3, "é" * 1000, b"x" * 100, -2.0)]
    frame = read_frame(make_table(tmp_path / "d.db", rows))
    assert list(frame.columns) == ["id", "note text", "photo", "score"]
    assert frame.to_dict("records")[0] == {"id": 1, "note text": "ok", "photo": b"\x00\x01", "score": 1.5}
    assert frame["note text"].isna().tolist() == [False, True, False] and frame.loc[2, "note text"] == "é" * 1000
    projected = read_frame(make_table(tmp_path / "e.db", rows), columns=["score", "id"])
    assert list(projected.columns) == ["score", "id"] and projected["id"].tolist() == [1, 2, 3]


def test_a_100_mb_text_value_is_refused_naming_the_table_row_column_and_setting(tmp_path):
    secret = "963-38-2983 "
    huge = secret + "x" * (100 * MiB)
    location = make_table(tmp_path / "big.db", [(1, "fine", None, 0.0), (2, huge, None, 0.0)])
    del huge
    with pytest.raises(DataLimitExceeded) as refused:
        list(read_chunks(location))
    message = str(refused.value)
    assert message == (
        "table notes: row 2, column note text holds a value longer than 16 MiB (CUSTOS_DATASET_MAX_LINE_BYTES): "
        "refused before reading it"
    )
    assert secret.strip() not in message and "\n" not in message


def test_a_blob_over_the_cap_is_refused_too_and_a_projection_without_it_reads(tmp_path, settings):
    settings.CUSTOS_DATASET_MAX_LINE_BYTES = MiB
    location = make_table(tmp_path / "b.db", [(1, "a", b"\xff" * (2 * MiB), 0.0)])
    with pytest.raises(DataLimitExceeded, match="column photo holds a value longer than 1 MiB"):
        read_frame(location)
    assert read_frame(location, columns=["id", "note text"]).to_dict("records") == [{"id": 1, "note text": "a"}]


@pytest.mark.django_db
def test_a_huge_value_in_a_postgresql_table_is_refused_on_the_server_side(monkeypatch, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass)")
    import psycopg

    from tests.factories import SourceFactory

    settings.CUSTOS_DATASET_MAX_LINE_BYTES = MiB
    cfg = connection.settings_dict
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else "")
    server = f"postgresql://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}"
    name = f"{cfg['NAME']}_values"
    with psycopg.connect(f"{server}/{cfg['NAME']}", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{server}/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE visits (id int, note text, extra jsonb, raw bytea)")
            conn.execute(
                "INSERT INTO visits VALUES (1, 'short', '{\"a\": 1}', '\\x00'), (2, repeat('y', 3 * 1048576), NULL, NULL)"
            )
            conn.execute("CREATE TABLE fine (id int, note text, extra jsonb, raw bytea)")
            conn.execute("INSERT INTO fine VALUES (1, 'short', '{\"a\": 1}', '\\x00')")
        monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"{server}/{name}")
        SourceFactory(name="clinic-pg", connection={"dsn_ref": "env:CUSTOS_SOURCE_CLINIC"})
        with pytest.raises(DataLimitExceeded, match=r"table public.visits: row 2, column note holds a value longer than 1 MiB"):
            read_frame("source:clinic-pg#public.visits")
        frame = read_frame("source:clinic-pg#public.fine")
        assert frame.loc[0, "note"] == "short" and frame.loc[0, "extra"] == {"a": 1} and bytes(frame.loc[0, "raw"]) == b"\x00"
    finally:
        with psycopg.connect(f"{server}/{cfg['NAME']}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
