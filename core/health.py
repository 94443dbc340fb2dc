"""Health endpoints for process supervisors and load balancers (Kubernetes probes, deploy/).

* ``GET /healthz`` -- liveness: the process answers requests. Touches nothing else (a database
  outage must not make Kubernetes restart every web pod at once). ``200 {"status": "ok"}``.
* ``GET /readyz`` -- readiness: the default database answers ``SELECT 1`` and the Celery broker
  accepts a connection, each within ``CUSTOS_READYZ_TIMEOUT`` seconds (2). ``200`` with
  ``{"status": "ok", "checks": {"database": "ok", "broker": "ok"}}``, else ``503`` with
  ``"status": "unavailable"`` and ``"fail"`` for the check that failed.

Both are unauthenticated and say nothing else: no host, no version, no error text (the error's
class is logged, never its message, which can carry a connection string). They are answered by
``HealthMiddleware``, first in ``MIDDLEWARE``: a probe reaches the pod by its IP address, which
is not in ``ALLOWED_HOSTS``, and over plain HTTP inside the cluster, which ``SECURE_SSL_REDIRECT``
would redirect; neither applies to these two paths and nothing else is answered before those
checks. With an in-process broker (``memory://``, the demo and test default) the broker check
passes trivially: there is no broker to lose.
"""

from __future__ import annotations

import json
import logging
import os

from django.db import connections
from django.http import HttpResponse

log = logging.getLogger("custos.health")

OK, FAIL = "ok", "fail"
DATABASE_ALIAS = "default"  # the database /readyz checks
BROKER_URL: str | None = None  # the broker /readyz checks; None: Celery's (CELERY_BROKER_URL)


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get("CUSTOS_READYZ_TIMEOUT", "2")))
    except ValueError:
        return 2.0


def check_database() -> bool:
    """``SELECT 1`` on the default database through Django's connection (a connection the server
    dropped was already replaced at the request's start when ``CONN_HEALTH_CHECKS`` is on)."""
    try:
        with connections[DATABASE_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:  # any failure means not ready; the reason stays in the log, by class
        log.warning("readyz: database check failed (%s)", type(exc).__name__)
        return False


def check_broker() -> bool:
    """Open (and close) one connection to the Celery broker, without retrying."""
    from config.celery import app

    url = BROKER_URL or app.conf.broker_url or ""
    if url.startswith("memory://"):
        return True
    try:
        with app.connection_for_write(url=url, connect_timeout=_timeout()) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=_timeout())
            return True
    except Exception as exc:
        log.warning("readyz: broker check failed (%s)", type(exc).__name__)
        return False


def _answer(status: int, body: dict, method: str) -> HttpResponse:
    response = HttpResponse(
        b"" if method == "HEAD" else json.dumps(body).encode(), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response


def healthz(method: str = "GET") -> HttpResponse:
    return _answer(200, {"status": OK}, method)


def readyz(method: str = "GET") -> HttpResponse:
    checks = {"database": OK if check_database() else FAIL, "broker": OK if check_broker() else FAIL}
    ready = all(value == OK for value in checks.values())
    return _answer(200 if ready else 503, {"status": OK if ready else "unavailable", "checks": checks}, method)


PATHS = {"/healthz": healthz, "/readyz": readyz}


class HealthMiddleware:
    """Answers ``/healthz`` and ``/readyz`` (GET and HEAD) before any other middleware; every other
    request goes on unchanged. Another method on these paths is ``405``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        handler = PATHS.get(request.path_info)
        if handler is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _answer(405, {"status": "method not allowed"}, request.method)
            response["Allow"] = "GET, HEAD"
            return response
        return handler(request.method)
