"""Reading sources: format and dialect detection, clear errors, streaming, and mergeable sampling."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from compliance.datasets import LocationRefused, resolve
from compliance.datasets.sources import ParquetSource, SourceError, open_source
from compliance.scanning.analysis import sample_chunk, scan_chunk
from compliance.scanning.decision import merge_chunks
from compliance.scanning.scanner import result_from_chunks, scan_path


def test_it_detects_the_delimiter_and_encoding_of_a_csv(tmp_path, engine):
    path = tmp_path / "clients.csv"
    rows = ["name;email;city"] + [f"Zoë Müller{i};zoe{i}@example.de;Köln" for i in range(60)]
    path.write_bytes("\n".join(rows).encode("latin-1"))
    source = open_source(resolve(str(path)))
    assert source.delimiter == ";" and source.encoding.lower() != "utf-8"
    _, first = next(source.read())
    assert first["city"].iloc[0] == "Köln"  # decoded right, not mojibake
    result = scan_path(path, sample_size=60)
    assert [c.name for c in result.columns] == ["name", "email", "city"]
    assert result.column("email").entity_types == {"EMAIL_ADDRESS"}


def test_a_malformed_csv_is_a_clear_error_that_quotes_no_value(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\nsecret-value-123,4,5,6\n")
    with pytest.raises(SourceError, match=r"broken.csv: malformed CSV \(line 3 has 4 fields, expected 2\)") as exc:
        scan_path(path)
    assert "secret-value-123" not in str(exc.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "empty"),
        ("bad.jsonl", b'{"a": 1}\n{not json}\n', "line 2 is not valid JSON"),
        ("bad.parquet", b"not parquet at all", "not a readable Parquet file"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        scan_path(path)


def test_parquet_is_streamed_by_row_group_and_chunks_are_row_group_ranges(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"n": range(1000), "email": [f"u{i}@example.com" for i in range(1000)]}).to_parquet(path, row_group_size=100)
    source = open_source(resolve(str(path)))
    assert isinstance(source, ParquetSource) and source.rows_total == 1000
    batches = list(source.read())
    assert [offset for offset, _ in batches] == list(range(0, 1000, 100))
    chunks = source.chunks(target_rows=300)
    assert [(c.start, c.stop, c.rows) for c in chunks] == [(0, 3, 300), (3, 6, 300), (6, 9, 300), (9, 10, 100)]


def test_samples_of_chunks_merge_into_the_sample_of_the_whole(tmp_path, engine):
    path = tmp_path / "t.parquet"
    df = pd.DataFrame({"email": [f"u{i}@example.com" if i % 3 else None for i in range(3000)], "n": range(3000)})
    df.to_parquet(path, row_group_size=250)
    source = open_source(resolve(str(path)))
    _, whole = sample_chunk(source, None, k=200, seed=9)
    parts = [scan_chunk(source, c, k=200, seed=9) for c in source.chunks(target_rows=1000)]
    merged = merge_chunks(parts, k=200)
    assert merged["rows"] == 3000 and merged["columns"]["email"]["nonnull"] == 2000
    # the merged keys are the first keys of the whole-source sample (stage one analyses a prefix)
    merged_keys = [s[0] for s in merged["columns"]["email"]["samples"]]
    assert merged_keys == sorted(whole["email"].keys)[: len(merged_keys)] and len(merged_keys) >= 200
    result = result_from_chunks(parts, source=str(path), rows_total=3000, sample_size=200, seed=9, seconds=0.0)
    assert result.column("email").entity_types == {"EMAIL_ADDRESS"}


def test_json_lines_and_a_sqlite_table_are_scanned(tmp_path, engine):
    frame = pd.DataFrame({"owner_email": [f"p{i}@example.org" for i in range(80)], "qty": range(80)})
    jsonl = tmp_path / "t.jsonl"
    frame.to_json(jsonl, orient="records", lines=True)
    assert scan_path(jsonl, sample_size=80).column("owner_email").entity_types == {"EMAIL_ADDRESS"}
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        frame.to_sql("orders", conn, index=False)
    result = scan_path(f"sqlite:///{db}#orders", sample_size=80)
    assert result.rows_total == 80 and result.column("owner_email").entity_types == {"EMAIL_ADDRESS"}
    with pytest.raises(LocationRefused, match="URL#table"):
        open_source(resolve(f"sqlite:///{db}#orders; drop table x"))


@pytest.mark.django_db
def test_a_postgresql_table_of_a_registered_source_is_scanned(engine, monkeypatch):
    """A separate database (never the app's own), reached through a DataSource whose dsn_ref names a
    CUSTOS_SOURCE_* variable: the catalog holds the reference, the environment the secret."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass)")
    import psycopg

    from tests.factories import SourceFactory

    cfg = connection.settings_dict
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else "")
    server = f"postgresql://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}"
    name = f"{cfg['NAME']}_source"
    with psycopg.connect(f"{server}/{cfg['NAME']}", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{server}/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE scan_pg_people (id int, contact_email text)")
            conn.execute("INSERT INTO scan_pg_people SELECT g, 'x' || g || '@example.com' FROM generate_series(1, 120) g")
        monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"{server}/{name}")
        SourceFactory(name="clinic-pg", connection={"dsn_ref": "env:CUSTOS_SOURCE_CLINIC"})
        result = scan_path("source:clinic-pg#public.scan_pg_people", sample_size=100)
        assert result.rows_total == 120
        assert result.column("contact_email").entity_types == {"EMAIL_ADDRESS"} and result.column("id").entities == ()
        # the same server's app database is refused even through a registered source
        monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"{server}/{connection.settings_dict['NAME']}")
        with pytest.raises(LocationRefused, match="own database"):
            resolve("source:clinic-pg#public.accounts_user")
    finally:
        with psycopg.connect(f"{server}/{cfg['NAME']}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_csv_chunks_are_contiguous_row_ranges_that_cover_the_file_once(tmp_path):
    path = tmp_path / "rows.csv"
    pd.DataFrame({"n": range(2500), "zip": [f"{i:05d}" for i in range(2500)]}).to_csv(path, index=False)
    source = open_source(resolve(str(path)))
    chunks = source.chunks(target_rows=1000)
    assert [(c.start, c.stop) for c in chunks] == [(0, 834), (834, 1668), (1668, 2500)]
    seen = []
    for chunk in chunks:
        for offset, df in source.read(chunk):
            assert df["n"].astype(int).tolist() == list(range(offset, offset + len(df)))
            seen.extend(df["n"].astype(int))
    assert seen == list(range(2500))
    assert next(source.read())[1]["zip"].iloc[0] == "00000"  # read as text: leading zeros kept
