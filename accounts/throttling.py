"""Rate limits for token-authenticated API calls (issue 17, item 3; docs/operations.md).

Services authenticate with a bearer token and can write in a loop; people use a session and are
limited at login by django-axes instead. Three scopes, rates from
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` read at request time (so a settings change applies
without a restart of the class):

* ``token_write``: every unsafe method (POST, PUT, PATCH, DELETE) made with a token, except on
  intake views;
* ``lineage_intake``: unsafe methods on views that declare ``throttle_intake = True`` (the
  OpenLineage endpoints: a producer sends one event per POST, far above an API client's write
  rate; docs/lineage.md "Rate limit"). Counted instead of ``token_write``, never as well; when
  the scope has no rate configured, ``token_write``'s applies (never unlimited by omission);
* ``token_expensive_read``: safe methods on views that declare ``throttle_expensive = True``
  (search and other whole-catalog queries).

The count is per token (never per IP: many services share a NAT), kept in Django's default cache
(per process with the default local-memory cache: set ``CACHES`` to Redis in production for one
count across workers). Over the rate, DRF raises ``Throttled``: a ``429`` in the API error shape
(``code: throttled``) with ``Retry-After``.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken


class _TokenThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return (settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}).get(self.scope)

    def applies(self, request, view) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken) or not self.applies(request, view):
            return None  # not throttled by this scope
        # pk plus creation time: a key no later token reuses (SQLite may reuse a rolled-back pk)
        return self.cache_format % {"scope": self.scope, "ident": f"{token.pk}.{token.created_at.timestamp():.6f}"}


class TokenWriteThrottle(_TokenThrottle):
    scope = "token_write"

    def applies(self, request, view) -> bool:
        return request.method not in SAFE_METHODS and not getattr(view, "throttle_intake", False)


class TokenIntakeThrottle(_TokenThrottle):
    scope = "lineage_intake"

    def get_rate(self) -> str | None:
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
        return rates.get(self.scope) or rates.get(TokenWriteThrottle.scope)

    def applies(self, request, view) -> bool:
        return request.method not in SAFE_METHODS and getattr(view, "throttle_intake", False)


class TokenExpensiveReadThrottle(_TokenThrottle):
    scope = "token_expensive_read"

    def applies(self, request, view) -> bool:
        return request.method in SAFE_METHODS and getattr(view, "throttle_expensive", False)
