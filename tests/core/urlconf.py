"""Walk the project's URLconf: every API endpoint as a concrete slash-less path plus its view.

Shared by the router-rule, scoping-by-construction and role-matrix tests, so a route added by
any app is picked up without editing a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"


@dataclass(frozen=True)
class Endpoint:
    path: str  # concrete, slash-less, leading "/" (e.g. "/api/v1/assets/1")
    view: object  # the view class (APIView subclass) or function
    actions: dict  # viewset method -> action map ({} for plain views)
    name: str | None


def _text(pattern) -> str:
    return str(pattern.pattern if hasattr(pattern, "pattern") else pattern)


def _concrete(route: str) -> str:
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "1", route)
    route = route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\.", ".")
    route = route.replace("/?", "")
    return route.rstrip("/")


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _text(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _text(entry.pattern), entry


def api_endpoints() -> list[Endpoint]:
    """Every pattern under /api/v1/ (schema/docs views excluded), one row per distinct path+view."""
    seen: dict[tuple, Endpoint] = {}
    for route, entry in _walk(get_resolver().url_patterns):
        concrete = _concrete(route)
        if not (concrete + "/").startswith(API_PREFIX) or "format" in route:
            continue
        callback = entry.callback
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
        actions = dict(getattr(callback, "actions", None) or {})
        key = (concrete, view, tuple(sorted(actions.items())))
        seen.setdefault(key, Endpoint("/" + concrete, view, actions, entry.name))
    return sorted(seen.values(), key=lambda e: (e.path, str(e.actions)))
