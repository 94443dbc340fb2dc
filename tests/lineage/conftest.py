"""Lineage fixtures. The graph cache is per process and the test database rolls back between
tests (versions are reused), so each test starts with a cold cache."""

import pytest

from lineage.graph import cache


@pytest.fixture(autouse=True)
def cold_graph_cache():
    cache.reset()
    yield
    cache.reset()


@pytest.fixture
def steward(make_user):
    return make_user("steward")
