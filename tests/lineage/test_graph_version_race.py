"""The graph version's first bump on an empty database is race-free (two first writers once got a
duplicate-key error, a 409 to a producer's first events)."""

import threading

import pytest
from django.db import connection, connections, transaction

from lineage.models import GraphState
from lineage.services import graph_version_bump


@pytest.mark.django_db
def test_bumps_count_up_from_an_empty_table():
    GraphState.objects.all().delete()
    with transaction.atomic():
        assert graph_version_bump() == 1
    with transaction.atomic():
        assert graph_version_bump() == 2
    assert GraphState.objects.get().version == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_first_writers_on_an_empty_table_both_commit_in_order():
    GraphState.objects.all().delete()
    start, results, errors = threading.Barrier(2), [], []

    def writer():
        try:
            start.wait()
            with transaction.atomic():
                results.append(graph_version_bump())
                connection.cursor().execute("SELECT pg_sleep(0.3)")  # hold the transaction open
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sorted(results) == [1, 2]
    assert GraphState.objects.get().version == 2
