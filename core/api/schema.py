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


# --- error responses (drf-spectacular ``POSTPROCESSING_HOOKS``) ------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "The error envelope every API error answers with (core/api/errors.py, docs/api.md).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}
# What any operation can answer besides its own success codes: bad input (query or body, parse
# errors, unknown filter values), no or a bad token, a role refusal, an unknown or hidden object
# (or page), a body over the limit, a rate limit, the database unavailable.
ERROR_STATUSES = {
    "400": "Invalid input (the envelope's ``fields`` names the fields).",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "The role may not perform this action.",
    "404": "No such object, or one the user may not see; or no such page.",
    "413": "The request body is over the limit.",
    "429": "Rate limited (see Retry-After).",
    "503": "The database is unavailable; try again.",
}
WITH_BODY = {"post", "put", "patch"}


def error_responses(result, generator, request, public):
    """Document the error envelope and the statuses every operation may answer with (issue 17:
    schemathesis found 400s, 404s and 429s that the schema did not declare)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_STATUSES.items():
                if status == "413" and method not in WITH_BODY:
                    continue
                responses.setdefault(status, {"description": description, "content": {"application/json": {"schema": ref}}})
    return result
