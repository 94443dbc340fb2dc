"""Lineage fixtures (the cold graph cache every test starts with is in tests/conftest.py)."""

import pytest


@pytest.fixture
def steward(make_user):
    return make_user("steward")
