"""Search's ``icontains`` filters are served by trigram indexes on PostgreSQL (migration 0005)."""

import pytest
from django.db import connection

from catalog.models import Column, DataAsset

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
@pytest.mark.parametrize(("model", "field"), [(Column, "name"), (Column, "description"), (DataAsset, "qualified_name")])
def test_an_icontains_search_can_use_its_trigram_index(model, field):
    query = model.objects.filter(**{f"{field}__icontains": "ssn_7"}).order_by().values("pk").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        # On a near-empty test table the planner's cheapest plan is a matter of statistics: with sequential
        # and plain index scans off, only a bitmap scan on an index that matches the filter is left, so the
        # plan shows whether the trigram index can serve it (a B-tree on another column cannot).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"{model._meta.db_table}_{field}_trgm" in plan, plan
