"""OpenAPI schema hooks (drf-spectacular ``PREPROCESSING_HOOKS``).

Every API path is served with and without its trailing slash (``core.api.routers``); the schema
documents each operation once, under the slash-less form the docs use, so operation ids stay
unique and generated clients get one method per operation.

The Marquez-compatible API under ``/marquez/api/v1`` is left out: its contract is Marquez's own
``spec/openapi.yml`` (docs/lineage.md), which its clients are generated from, not this schema.
"""

from __future__ import annotations

MARQUEZ_PREFIX = "/marquez/"


def one_form_per_path(endpoints):
    """Drop ``path/`` endpoints whose slash-less twin ``path`` (same method) is also listed, and
    the Marquez-compatible endpoints."""
    endpoints = [e for e in endpoints if not e[0].startswith(MARQUEZ_PREFIX)]
    slashless = {(path, method) for path, _regex, method, _view in endpoints if not path.endswith("/")}
    return [
        endpoint
        for endpoint in endpoints
        if not (endpoint[0].endswith("/") and (endpoint[0].rstrip("/"), endpoint[2]) in slashless)
    ]
