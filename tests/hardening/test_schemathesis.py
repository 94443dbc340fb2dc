"""schemathesis against the live schema (issue 17, item 2): every operation of ``/api/schema/``,
called with each role's Bearer token through the whole WSGI stack (middleware, auth, throttles
off), must never answer 5xx and must match the schema it documents (status code, content type,
body). Bounded and reproducible: a fixed hypothesis seed, ``CUSTOS_FUZZ_EXAMPLES`` generated cases
per operation (default 4), every case sent with every role's token. Failures are collected, not
shrunk, and listed together (operation, role, status, check)."""

from __future__ import annotations

import logging
import os
import time

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from accounts.choices import Role
from accounts.services import token_create

EXAMPLES = int(os.environ.get("CUSTOS_FUZZ_EXAMPLES", "4"))
SEED = 17
# Failures found by this run in code outside the hardening paths, left to their owners (issue 17):
# (operation, check title) -> why. Listed in the output of every run; any other failure fails.
# Empty: the search answer is documented as {query, totals, results} and the model card's errors
# are the JSON envelope with ?format=html too (tests/deploy/test_schema_fixes.py).
KNOWN: dict[tuple[str, str], str] = {}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def describe(exc: BaseException) -> str:
    parts = getattr(exc, "exceptions", None) or [exc]
    return "; ".join(f"{getattr(p, 'title', type(p).__name__)}: {str(getattr(p, 'message', p))[:240]!r}" for p in parts)


def sent(response) -> str:
    """The request as sent, without its token."""
    request = response.request
    body = request.body[:200] if request.body else b""
    return f"{request.method} {request.url} {body!r}"


@pytest.fixture
def tokens(make_user, settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_CLASSES"] = []  # a fuzzer is not a client to rate-limit: every case must be judged
    settings.REST_FRAMEWORK = rest
    out = {}
    for role in Role.values:
        _token, raw = token_create(user=make_user(role), actor="test:fuzz", days=1)
        out[role] = raw
    return out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_operation_answers_5xx_or_off_schema_for_any_role(tokens):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    # (after the app's setup, which configures logging) thousands of expected 4xx would flood the
    # output; 5xx are collected as failures anyway
    request_log = logging.getLogger("django.request")
    request_log.setLevel(logging.CRITICAL)
    failures: list[str] = []
    known: set[tuple[str, ...]] = set()
    calls = [0]
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:

        @hypothesis.seed(SEED)
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def run(case):
            for role, raw in tokens.items():
                response = case.call(headers={"Authorization": f"Bearer {raw}"})
                calls[0] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (AssertionError, BaseExceptionGroup, Exception) as exc:  # FailureGroup / Failure: collect, go on
                    parts = getattr(exc, "exceptions", None) or [exc]
                    line = f"{operation.label} as {role}: {response.status_code} {describe(exc)} <- {sent(response)}"
                    if all((operation.label, getattr(p, "title", "")) in KNOWN for p in parts):
                        known.add((operation.label, *(getattr(p, "title", "") for p in parts)))
                    else:
                        failures.append(line)

        run()
    seconds = time.monotonic() - started
    print(f"schemathesis: {len(operations)} operations, {calls[0]} calls, {seconds:.0f} s, {len(failures)} failures")
    for entry in sorted(known):
        print(f"schemathesis: known, left to its owner: {' / '.join(entry)}")
    assert not failures, "\n".join(failures[:80])
