"""Trigram indexes for search on PostgreSQL (issue 17's load drill: one search was a sequential
scan of every column's name and description, ~290 ms of a 700 ms request on 200,000 columns).

Search filters with ``icontains``, which Django sends to PostgreSQL as ``UPPER(col::text) LIKE
UPPER('%q%')``; a GIN index over ``upper(col::text)`` with ``gin_trgm_ops`` serves exactly that
expression for queries of 3 characters or more. ``pg_trgm`` is a trusted extension (PostgreSQL
13+): the database owner that runs migrations may create it without being a superuser.

SQLite has no such index and needs none at the sizes it is the default for: nothing happens there.
"""

from django.db import migrations

INDEXED = {
    "catalog_column": ("name", "description"),
    "catalog_dataasset": ("name", "description", "qualified_name"),
}


def index_name(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in INDEXED.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(table, column)}" '
                f'ON "{table}" USING gin ((upper("{column}"::text)) gin_trgm_ops)'
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in INDEXED.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_column_former_names_asset_registered_by")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
