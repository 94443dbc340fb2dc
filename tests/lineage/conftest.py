"""Lineage fixtures. The graph cache is per process and the test database rolls back between
tests (versions are reused), so each test starts with a cold cache."""

import pytest

from lineage.graph import cache
from lineage.openlineage import reset_caches


@pytest.fixture(autouse=True)
def cold_graph_cache():
    cache.reset()
    cache.max_staleness = 0  # every read checks the version row (tests write without committing)
    reset_caches()
    yield
    cache.reset()
    reset_caches()


@pytest.fixture
def steward(make_user):
    return make_user("steward")
