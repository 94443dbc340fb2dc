"""The one rule for where data may be read from or written to.

A location string names one of:

``/abs/path/file.csv`` (``.tsv``, ``.txt``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``/``.json``,
``.gz``/``.bz2`` for text formats)
    a file inside a configured data root (``CUSTOS_DATA_ROOTS``; the old name ``CUSTOS_SCAN_ROOTS``
    still works; default ``VAR_DIR``). A relative path is taken under the first root.
``sqlite:///abs/path/file.db#table``
    a table of a SQLite file inside a data root.
``source:<data source name>#[schema.]table``
    a table of a *registered data source*: a cataloged :class:`catalog.models.DataSource` whose
    ``connection["dsn_ref"]`` references the connection string (``env:CUSTOS_SOURCE_<NAME>`` -- only
    variables with that prefix, so no reference can name the app's own settings -- or
    ``file:<name>``, a file directly inside ``CUSTOS_SOURCE_SECRETS_DIR``). The catalog holds the
    reference only, never the secret.

Always refused, whatever the roots say: the app's own database (any alias: its SQLite file with its
``-wal``/``-shm``/``-journal`` companions, or its PostgreSQL host/port/database), the files the app
keeps its keys in (any ``*_FILE`` setting), a file type that is not a data format, a path that leaves
every root (``..``, symlinks: paths are compared after ``resolve()``), a ``postgresql://`` URL
given directly (its credentials would be the web process's own), and credentials embedded in a location.

Refusals raise :class:`LocationRefused` (a ``ValidationError``) whose message names the rule and
never the path, host or table: the caller may be probing for what exists.

Readers and writers call :func:`check` on the :class:`Location` they are handed *before every open*,
so a location that was fine when it was cataloged but now points somewhere refused (a symlink
swapped, a root removed, the settings changed) is refused at read time too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

# Formats by suffix (compression suffixes are looked through for the text formats).
FILE_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
COMPRESSION = (".gz", ".bz2")
SOURCE_ENV_PREFIX = "CUSTOS_SOURCE_"
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s@]+:[^/\s@]*@")


class LocationRefused(ValidationError):
    """The location breaks the datasets rule. The message names the rule, never the location."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule, code="location_refused")
        self.rule = rule


@dataclass(frozen=True)
class Location:
    """Where rows live, after the rule accepted it.

    ``kind``: ``file`` | ``sqlite`` | ``postgresql``; ``format``: ``csv`` | ``parquet`` | ``jsonl`` for
    files, ``table`` for tables. ``path`` is the resolved file (the SQLite file for ``sqlite``);
    ``url`` the connection string of a table (for a registered source it may carry credentials
    taken from the reference, so it is kept out of ``repr``); ``table`` the table name; ``source``
    the registered data source's name, if any.
    """

    kind: str
    format: str
    path: Path | None = None
    url: str | None = field(default=None, repr=False)
    table: str | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        """A short, value-free name for messages: the table or the file name."""
        if self.table:
            return self.table
        return self.path.name if self.path else "?"

    @property
    def is_table(self) -> bool:
        return self.kind in ("sqlite", "postgresql")


# --- settings ----------------------------------------------------------------------------------------


def data_roots() -> list[Path]:
    """The configured roots, resolved (``CUSTOS_DATA_ROOTS``, else ``CUSTOS_SCAN_ROOTS``, else VAR_DIR)."""
    # Both names count (a deployment or a test may set either); the first listed root comes first.
    roots = list(getattr(settings, "CUSTOS_DATA_ROOTS", None) or [])
    roots += [r for r in getattr(settings, "CUSTOS_SCAN_ROOTS", None) or [] if r not in roots]
    if not roots:
        roots = [settings.VAR_DIR]
    return [Path(root).resolve() for root in roots]


def source_secrets_dir() -> Path:
    return Path(getattr(settings, "CUSTOS_SOURCE_SECRETS_DIR", None) or Path(settings.VAR_DIR) / "source-secrets").resolve()


# The database settings as configured at start-up (ComplianceConfig.ready): the test runner later
# swaps NAME for the test database, and both the configured and the current ones are the app's own.
_configured_databases: list[dict[str, Any]] = []


def remember_app_databases() -> None:
    """Snapshot settings.DATABASES (called once from ComplianceConfig.ready())."""
    _configured_databases[:] = [dict(alias, TEST=dict(alias.get("TEST") or {})) for alias in settings.DATABASES.values()]


def _databases() -> list[dict[str, Any]]:
    return [*_configured_databases, *settings.DATABASES.values()]


def app_database_files() -> list[Path]:
    """The SQLite files of the app's own databases (configured at start-up or current)."""
    files = []
    for alias in _databases():
        name = alias.get("NAME")
        on_disk = name and str(name) != ":memory:" and not str(name).startswith("file:")
        if "sqlite" in alias.get("ENGINE", "") and on_disk and Path(name).resolve() not in files:
            files.append(Path(name).resolve())
    return files


def _protected_files() -> set[Path]:
    """Files that hold the app itself: database files (and companions), key and secret files."""
    found: set[Path] = set()
    for alias in _databases():
        if "sqlite" in alias.get("ENGINE", ""):
            names = [alias.get("NAME"), (alias.get("TEST") or {}).get("NAME")]
            for name in names:
                if name and str(name) != ":memory:" and not str(name).startswith("file:"):
                    db = Path(name).resolve()
                    found |= {db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))}
    for key in dir(settings):
        if key.isupper() and key.endswith("_FILE"):
            value = getattr(settings, key, None)
            if isinstance(value, str | Path) and str(value):
                found.add(Path(value).resolve())
    return found


def _app_postgres() -> set[tuple[str, int, str]]:
    """(host, port, database) of every PostgreSQL alias, test databases included."""
    found = set()
    for alias in _databases():
        if "postgresql" in alias.get("ENGINE", ""):
            host = (alias.get("HOST") or "localhost").lower()
            port = int(alias.get("PORT") or 5432)
            for name in (alias.get("NAME"), (alias.get("TEST") or {}).get("NAME"), f"test_{alias.get('NAME')}"):
                if name:
                    found.add((host, port, str(name)))
    return found


def _same_host(a: str, b: str) -> bool:
    local = {"localhost", "127.0.0.1", "::1", ""}
    return a == b or (a in local and b in local) or a.startswith("/") or b.startswith("/")


# --- checks ------------------------------------------------------------------------------------------


def _inside_roots(path: Path) -> bool:
    return any(path == root or path.is_relative_to(root) for root in data_roots())


def _check_file(path: Path, *, what: str) -> None:
    if path in _protected_files() or path.is_relative_to(source_secrets_dir()):
        raise LocationRefused(f"{what} is one of Custos's own files (its database or keys): refused")
    if not _inside_roots(path):
        raise LocationRefused(f"{what} is outside the configured data roots (CUSTOS_DATA_ROOTS)")


def _check_postgres_url(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "localhost").lower()
    try:
        port = parts.port or 5432
    except ValueError:
        raise LocationRefused("the data source's connection string is not a valid URL") from None
    database = unquote(parts.path.lstrip("/"))
    for app_host, app_port, app_db in _app_postgres():
        if database == app_db and port == app_port and _same_host(host, app_host):
            raise LocationRefused("the location is Custos's own database: refused")


def check(loc: Location) -> Location:
    """Re-apply the rule to an already resolved location (readers and writers call it before every open)."""
    if not isinstance(loc, Location):
        raise LocationRefused("not a resolved location")
    if loc.kind == "file":
        if loc.path is None or loc.format not in set(FILE_FORMATS.values()):
            raise LocationRefused("a file location needs a path and a data format")
        _check_file(Path(loc.path).resolve(), what="the file")
    elif loc.kind == "sqlite":
        if loc.path is None or not loc.table or not TABLE_NAME.match(loc.table):
            raise LocationRefused("a SQLite location is sqlite:///file.db#table")
        path = Path(loc.path).resolve()
        if path in _protected_files() or path.is_relative_to(source_secrets_dir()):
            raise LocationRefused("the location is Custos's own database: refused")
        if loc.source is None and not _inside_roots(path):
            raise LocationRefused("the database file is outside the configured data roots (CUSTOS_DATA_ROOTS)")
    elif loc.kind == "postgresql":
        if loc.source is None:
            raise LocationRefused(
                "PostgreSQL tables are reached only through a registered data source (source:<name>#schema.table)"
            )
        if not loc.url or not loc.table or not TABLE_NAME.match(loc.table):
            raise LocationRefused("a table location needs a connection and a table name")
        _check_postgres_url(loc.url)
    else:
        raise LocationRefused("unknown location kind")
    return loc


# --- resolving strings ---------------------------------------------------------------------------------


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in COMPRESSION
    if compressed:
        suffixes = suffixes[:-1]
    fmt = FILE_FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None or (compressed and fmt == "parquet"):
        raise LocationRefused("unsupported file type (CSV/TSV, Parquet or JSON lines expected)")
    return fmt


def _table_part(location: str) -> tuple[str, str]:
    base, _, table = location.partition("#")
    if not table or not TABLE_NAME.match(table):
        raise LocationRefused("a database location is URL#table (letters, digits, underscores; schema.table allowed)")
    return base, table


def _resolve_source(name: str, table: str) -> Location:
    from catalog.models import DataSource

    source = DataSource.objects.filter(name=name).first()
    if source is None:
        raise LocationRefused("no registered data source has that name")
    return source_location(source, table)


def _dsn_from_ref(ref: Any) -> str:
    if not isinstance(ref, str) or ":" not in ref:
        raise LocationRefused("a registered data source needs connection.dsn_ref ('env:CUSTOS_SOURCE_...' or 'file:<name>')")
    scheme, _, name = ref.partition(":")
    if scheme == "env":
        if not name.startswith(SOURCE_ENV_PREFIX) or not re.fullmatch(r"[A-Z0-9_]+", name):
            raise LocationRefused(f"a data source's env reference must name a {SOURCE_ENV_PREFIX}* variable")
        value = os.environ.get(name, "")
    elif scheme == "file":
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
            raise LocationRefused("a data source's file reference is a plain file name in CUSTOS_SOURCE_SECRETS_DIR")
        secret = source_secrets_dir() / name
        try:
            value = secret.read_text(encoding="utf-8").strip() if secret.resolve().parent == source_secrets_dir() else ""
        except OSError:
            value = ""
    else:
        raise LocationRefused("a data source's dsn_ref is 'env:CUSTOS_SOURCE_...' or 'file:<name>'")
    if not value:
        raise LocationRefused("the data source's connection reference is not set on this server")
    return value


def source_location(source: Any, table: str) -> Location:
    """The table ``table`` of the registered data source ``source`` (a catalog DataSource)."""
    if not TABLE_NAME.match(table or ""):
        raise LocationRefused("a table name is letters, digits and underscores (schema.table allowed)")
    dsn = _dsn_from_ref((source.connection or {}).get("dsn_ref"))
    if table.count(".") == 2:  # an OpenLineage name "database.schema.table": the DSN names the database
        table = table.split(".", 1)[1]
    if dsn.startswith("sqlite:///"):
        loc = Location(
            kind="sqlite",
            format="table",
            path=Path(dsn.removeprefix("sqlite:///")).resolve(),
            url=dsn,
            table=table,
            source=source.name,
        )
    elif re.match(r"^(postgres|postgresql|postgresql\+psycopg)://", dsn):
        dsn = re.sub(r"^(postgres|postgresql\+psycopg)://", "postgresql://", dsn)
        loc = Location(kind="postgresql", format="table", url=dsn, table=table, source=source.name)
    else:
        raise LocationRefused("the data source's connection string is not a SQLite or PostgreSQL URL")
    return check(loc)


def resolve(location: str) -> Location:
    """The :class:`Location` a string names, or :class:`LocationRefused` (see the module docstring)."""
    if isinstance(location, Location):
        return check(location)
    location = str(location or "").strip()
    if not location:
        raise LocationRefused("a location is required (a file path, sqlite:///file.db#table or source:<name>#table)")
    if CREDENTIALS_IN_URL.search(location):
        raise LocationRefused("a location may not embed credentials; register a data source with a dsn_ref")
    if location.startswith("source:"):
        base, table = _table_part(location)
        return _resolve_source(unquote(base.removeprefix("source:")), table)
    if location.startswith("sqlite:"):
        base, table = _table_part(location)
        if not base.startswith("sqlite:///") or base == "sqlite:///":
            raise LocationRefused("a SQLite location is sqlite:///absolute/file.db#table")
        path = Path(base.removeprefix("sqlite:///"))
        if not path.is_absolute():
            path = data_roots()[0] / path
        return check(Location(kind="sqlite", format="table", path=path.resolve(), url=None, table=table))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location) and not location.startswith("file://"):
        if re.match(r"^(postgres|postgresql|postgresql\+psycopg)://", location):
            raise LocationRefused(
                "PostgreSQL tables are reached only through a registered data source (source:<name>#schema.table)"
            )
        raise LocationRefused("unsupported location scheme (a file path, sqlite:///file.db#table or source:<name>#table)")
    path = Path(location.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = data_roots()[0] / path
    try:
        path = path.resolve()
    except (OSError, RuntimeError):
        raise LocationRefused("the path cannot be resolved") from None
    _check_file(path, what="the file")  # the roots first: a refused path learns nothing about its type
    return check(Location(kind="file", format=_file_format(path), path=path))


def resolve_asset(asset: Any) -> Location:
    """Where a cataloged asset's rows live: its ``location``; else, for an asset of a registered data
    source, the source's table named by the asset's qualified name."""
    if asset.location:
        return resolve(asset.location)
    source = getattr(asset, "source", None)
    if source is not None and (source.connection or {}).get("dsn_ref"):
        return source_location(source, asset.qualified_name)
    raise LocationRefused("the asset has no location and its data source no connection reference: no data to read")


def resolve_output(location: str | Path | Location) -> Location:
    """A write target under the same rule as reads (never the app's database, never outside the roots)."""
    return resolve(location if isinstance(location, Location) else str(location))


def from_command_line(argument: str | Path) -> str:
    """A location typed on a command line, as the shell user means it: a relative *file* path is
    relative to the current directory (``manage.py scan var/demo-data/x.csv`` from the checkout),
    not to the first data root as in the API, where the server has no meaningful working
    directory. ``sqlite:///``, ``source:`` and URLs are returned unchanged. The rule itself
    (:func:`resolve`) still applies to the result: an absolute path outside the roots is refused.
    """
    text = str(argument)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text):
        return text  # sqlite:///, source:, file://, URLs
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else Path.cwd() / path)


def validate_location(location: str) -> None:
    """The catalog's location hook (catalog.locations): raise LocationRefused, return nothing."""
    resolve(location)


__all__ = [
    "Location",
    "LocationRefused",
    "check",
    "data_roots",
    "from_command_line",
    "resolve",
    "resolve_asset",
    "resolve_output",
    "source_location",
    "validate_location",
]
