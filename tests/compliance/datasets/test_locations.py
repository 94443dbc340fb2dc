"""The one location rule (compliance.datasets.locations): what may be read or written, and what never."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from compliance import datasets
from compliance.datasets import LocationRefused, resolve, resolve_output


def app_db() -> Path:
    """The app's SQLite file as configured (the test runner swaps in an in-memory test database)."""
    files = datasets.locations.app_database_files()
    if not files:
        pytest.skip("the app database is not a SQLite file in this run (PostgreSQL pass)")
    return files[0]


@pytest.mark.parametrize("table", ["django_session", "accounts_user", "audit_ledgerentry"])
def test_it_refuses_the_apps_own_sqlite_database_for_reading_and_writing(settings, tmp_path, table):
    # even when the roots are widened to contain it
    settings.CUSTOS_DATA_ROOTS = [tmp_path, app_db().parent]
    with pytest.raises(LocationRefused, match="own database") as exc:
        resolve(f"sqlite:///{app_db()}#{table}")
    assert str(app_db()) not in str(exc.value) and table not in str(exc.value)
    with pytest.raises(LocationRefused, match="own database"):
        resolve_output(f"sqlite:///{app_db()}#{table}")
    for companion in ("-wal", "-shm"):
        with pytest.raises(LocationRefused):
            resolve(f"sqlite:///{app_db()}{companion}#{table}")


def test_it_refuses_direct_postgresql_urls_whoever_the_host(settings):
    for url in ("postgresql://db.internal/clinic#public.patients", "postgres://localhost/custos#accounts_user"):
        with pytest.raises(LocationRefused, match="registered data source"):
            resolve(url)


def test_it_refuses_paths_outside_the_roots_traversal_and_symlinks(tmp_path, data_root):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("a\n1\n")
    try:
        with pytest.raises(LocationRefused, match="outside the configured data roots"):
            resolve(str(outside))
        with pytest.raises(LocationRefused, match="outside the configured data roots"):
            resolve(str(tmp_path / ".." / outside.name))
        (tmp_path / "link.csv").symlink_to(outside)
        with pytest.raises(LocationRefused, match="outside the configured data roots"):
            resolve(str(tmp_path / "link.csv"))
        with pytest.raises(LocationRefused, match="outside"):
            resolve("/etc/passwd")
    finally:
        outside.unlink()


def test_it_refuses_the_apps_key_files_and_non_data_files_inside_a_root(settings, tmp_path):
    key = tmp_path / "ledger.csv"  # a key file named like data is still a key file
    key.write_text("secret\n")
    settings.CUSTOS_LEDGER_KEY_FILE = str(key)
    with pytest.raises(LocationRefused, match="own files"):
        resolve(str(key))
    (tmp_path / "notes.xlsx").write_bytes(b"PK")
    with pytest.raises(LocationRefused, match="unsupported file type"):
        resolve(str(tmp_path / "notes.xlsx"))


def test_it_accepts_files_and_sqlite_tables_inside_a_root_and_relative_paths_under_the_first_root(tmp_path):
    (tmp_path / "people.csv").write_text("name\nAda\n")
    loc = resolve(str(tmp_path / "people.csv"))
    assert (loc.kind, loc.format, loc.path) == ("file", "csv", (tmp_path / "people.csv").resolve())
    assert resolve("people.csv") == loc
    assert resolve(f"sqlite:///{tmp_path}/shop.db#orders").table == "orders"
    with pytest.raises(LocationRefused, match="URL#table"):
        resolve(f"sqlite:///{tmp_path}/shop.db#orders; drop table x")
    with pytest.raises(LocationRefused, match="credentials"):
        resolve("sqlite://u:pw@x/shop.db#orders")


@pytest.mark.django_db
def test_a_registered_source_is_reached_by_its_reference_never_by_a_bare_url(tmp_path, monkeypatch, settings):
    from tests.factories import SourceFactory

    db = tmp_path / "clinic.db"
    with sqlite3.connect(db) as conn:
        pd.DataFrame({"email": ["a@example.org", "b@example.org"]}).to_sql("patients", conn, index=False)
    SourceFactory(name="bare", connection={"url": f"sqlite:///{db}"})
    with pytest.raises(LocationRefused, match="dsn_ref"):
        resolve("source:bare#patients")
    SourceFactory(name="app-settings", connection={"dsn_ref": "env:DATABASE_URL"})
    with pytest.raises(LocationRefused, match="CUSTOS_SOURCE_"):
        resolve("source:app-settings#patients")
    SourceFactory(name="clinic", connection={"dsn_ref": "env:CUSTOS_SOURCE_CLINIC"})
    with pytest.raises(LocationRefused, match="not set"):
        resolve("source:clinic#patients")
    monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"sqlite:///{db}")
    loc = resolve("source:clinic#patients")
    assert datasets.read_frame(loc)["email"].tolist() == ["a@example.org", "b@example.org"]
    # a reference that points at the app's own database is refused like a direct location
    monkeypatch.setenv("CUSTOS_SOURCE_CLINIC", f"sqlite:///{app_db()}")
    with pytest.raises(LocationRefused, match="own database"):
        resolve("source:clinic#accounts_user")
    # file references: a plain name inside CUSTOS_SOURCE_SECRETS_DIR, whose files are never data
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    settings.CUSTOS_SOURCE_SECRETS_DIR = secrets
    (secrets / "clinic.csv").write_text(f"sqlite:///{db}\n")
    SourceFactory(name="by-file", connection={"dsn_ref": "file:clinic.csv"})
    assert resolve("source:by-file#patients").table == "patients"
    SourceFactory(name="escape", connection={"dsn_ref": "file:../clinic.db"})
    with pytest.raises(LocationRefused, match="plain file name"):
        resolve("source:escape#patients")
    with pytest.raises(LocationRefused, match="own files|outside"):
        resolve(str(secrets / "clinic.csv"))


def test_readers_recheck_the_rule_at_every_read(settings, tmp_path):
    (tmp_path / "p.csv").write_text("name\nAda\n")
    loc = resolve(str(tmp_path / "p.csv"))
    assert len(datasets.read_frame(loc)) == 1
    settings.CUSTOS_DATA_ROOTS = [tmp_path / "elsewhere"]
    settings.CUSTOS_SCAN_ROOTS = []
    with pytest.raises(LocationRefused, match="outside"):
        datasets.read_frame(loc)
    forged = datasets.Location(kind="sqlite", format="table", path=app_db(), table="django_session")
    with pytest.raises(LocationRefused, match="own database"):
        next(datasets.read_chunks(forged))


def test_the_catalog_hook_is_registered():
    from catalog.locations import _validators

    assert datasets.validate_location in _validators
    with pytest.raises(LocationRefused):
        datasets.validate_location(f"sqlite:///{app_db()}#django_session")


def test_a_command_line_path_is_relative_to_the_shells_directory_and_still_under_the_rule(tmp_path, monkeypatch):
    """``manage.py scan var/demo-data/x.csv`` from the checkout means that file (README rows),
    not ``<first root>/var/demo-data/x.csv``; the roots still decide whether it may be read."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "people.csv").write_text("name\nAda\n")
    monkeypatch.chdir(tmp_path)
    typed = datasets.from_command_line("sub/people.csv")
    assert typed == str(tmp_path / "sub" / "people.csv")
    assert resolve(typed).path == (tmp_path / "sub" / "people.csv").resolve()
    for unchanged in ("sqlite:///db.sqlite#t", "source:crm#public.users", f"file://{tmp_path}/x.csv"):
        assert datasets.from_command_line(unchanged) == unchanged
    outside = tmp_path.parent / "elsewhere.csv"
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(LocationRefused, match="outside"):
        resolve(datasets.from_command_line(outside.name))
