"""``Router``: the one DRF router every app's ``api/urls.py`` uses, and ``route()`` for plain views.

Rule (defect 9): every API path is served both with and without its trailing slash, by the same
view, with no redirect -- a POST to ``/api/v1/assets`` and to ``/api/v1/assets/`` both create, none
is turned into a 301 that a client would follow as a GET. Links the API itself prints (the root,
``next``/``previous`` page links follow the request) use the slash-less form.
"""

from __future__ import annotations

from importlib import import_module

from django.urls import URLPattern, URLResolver, include, path, re_path
from django.urls.resolvers import RoutePattern
from rest_framework.routers import SimpleRouter

SLASH_OPTIONAL = "/?"


class Router(SimpleRouter):
    """``SimpleRouter`` whose routes match ``name`` and ``name/`` alike (``trailing_slash="/?"``).

    DRF's constructor only knows ``"/"`` or ``""`` (any truthy value becomes ``"/"``), hence the
    assignment after ``super().__init__``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.pop("trailing_slash", None)
        super().__init__(*args, **kwargs)
        self.trailing_slash = SLASH_OPTIONAL


def route(pattern: str, view, *, name: str):
    """A plain (non-router) API path under the same rule: ``route("audit/checkpoint", View.as_view(), name=...)``.

    ``pattern`` is written without the trailing slash; ``<int:pk>`` becomes ``(?P<pk>[0-9]+)``.
    """
    regex = pattern.replace("<int:pk>", "(?P<pk>[0-9]+)")
    if "<" in pattern.replace("<int:pk>", ""):
        raise ValueError(f"route(): only <int:pk> converters are supported, got {pattern!r}")
    return re_path(rf"^{regex}{SLASH_OPTIONAL}$", view, name=name)


def slash_optional(urlpatterns: list) -> list:
    """``urlpatterns`` with every plain ``path("x/y", view)`` also served at ``"x/y/"`` (same view,
    no name, no redirect). Router patterns already match both; included lists are walked too.

    ``config/urls.py`` applies it to every app's ``api/urls.py``, so a new plain API path follows
    the rule without anyone remembering to.
    """
    out: list = []
    for entry in urlpatterns:
        if isinstance(entry, URLResolver):
            out.append(path(str(entry.pattern), include(slash_optional(entry.url_patterns))))
            continue
        out.append(entry)
        if isinstance(entry, URLPattern) and isinstance(entry.pattern, RoutePattern):
            route_text = str(entry.pattern)
            if route_text and not route_text.endswith("/"):
                out.append(path(route_text + "/", entry.callback, entry.default_args))
    return out


def api_urls(module: str):
    """``include()`` of an app's ``api/urls.py`` under the slash rule (``slash_optional``)."""
    return include(slash_optional(import_module(module).urlpatterns))
