"""Bulk row writes in one statement per few hundred rows (lineage intake, propagation).

Django's ``bulk_update`` builds a ``CASE WHEN id = ... THEN ...`` expression per row and field,
and its ``bulk_create`` on PostgreSQL sends each column as one array (``UNNEST``), whose text
quoting of JSON payloads costs milliseconds per batch in Python. :func:`rows_update` sends
``UPDATE ... FROM (VALUES ...)`` instead (PostgreSQL; SQLite >= 3.33) and :func:`rows_insert`
a plain multi-row ``INSERT ... RETURNING`` id, with each value prepared by its model field
exactly as ``save()`` would prepare it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model

BATCH = 500  # rows per statement: at most a few thousand parameters


def rows_update(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of the saved ``objs`` (all of one model) to their rows, like
    ``Model.objects.bulk_update(objs, fields)``: values as the objects hold them, no signals,
    no ``auto_now`` (the caller sets what changes)."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    targets = [meta.pk, *(meta.get_field(name) for name in fields)]
    for obj in objs:  # a related object saved after it was assigned: take its id now (as save() does)
        obj._prepare_related_fields_for_save(operation_name="rows_update", fields=targets[1:])
    table = connection.ops.quote_name(meta.db_table)
    columns = [connection.ops.quote_name(f.column) for f in targets]
    if connection.vendor == "postgresql":
        # Each placeholder cast to its column's type: VALUES would otherwise type a column of
        # NULLs or strings as text.
        types = [f.db_type(connection).split("(")[0] for f in targets]
        row_sql = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
        names = ", ".join(columns)
        source = f"AS v ({names})"
        refs = columns
    elif connection.vendor == "sqlite":
        row_sql = "(" + ", ".join("%s" for _ in targets) + ")"
        source = "AS v"
        refs = [f"column{i + 1}" for i in range(len(targets))]
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite
        model.objects.bulk_update(objs, fields=list(fields))
        return
    assignments = ", ".join(f"{column} = v.{ref}" for column, ref in zip(columns[1:], refs[1:], strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            chunk = objs[start : start + BATCH]
            params = [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in chunk for field in targets]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row_sql] * len(chunk))}) {source} "
                f"WHERE {table}.{columns[0]} = v.{refs[0]}",
                params,
            )


def rows_insert(objs: Sequence[Model]) -> None:
    """Insert the unsaved ``objs`` (all of one model, no explicit ids) and set their ids, like
    ``Model.objects.bulk_create(objs)``: defaults and ``auto_now_add`` applied, no signals."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="rows_insert")
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row_sql = "(" + ", ".join("%s" for _ in fields) + ")"
    pk_column = connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            chunk = objs[start : start + BATCH]
            params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in chunk for field in fields]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))} RETURNING {pk_column}", params
            )
            # Rows come back in VALUES order (Django's bulk_create relies on the same).
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias
