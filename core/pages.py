"""Page extension points: how a higher app adds to a lower app's pages without an import backwards.

The dependency direction is ``core <- audit <- accounts <- catalog <- lineage <- compliance <-
monitoring <- demo``, yet the asset page (catalog) must show policies and findings (compliance),
lineage (lineage) and drift results (monitoring), and the posture dashboard shows every app. So the
page owner asks this registry, and each app registers what it contributes in its ``AppConfig.ready()``
(NetBox's plugin ``template_extensions`` idea, without the plugin machinery).

Contracts:

* ``nav_item(url_name, label, order)`` - a link in the header. A URL name that does not resolve
  (the page is not installed) is left out rather than raising.
* ``panel(slot, key, label, template, context, order, permission)`` - a tab or section on a page.
  ``slot`` names the page and place (``"asset"``, ``"model_version"``, ``"dashboard"``). ``context``
  is ``callable(request, obj) -> dict | None``; it must read through the registering app's own
  scoped selectors (``restrict(user, action)``), so a panel can never show what its app's API would
  not. Returning ``None`` hides the panel for this request (nothing to show, or not allowed).
  ``permission`` (``"view"``, ``"change"``, ``"decide"``, ...) is checked with the role matrix before
  ``context`` runs; ``None`` means any signed-in user.
* ``panels_for(slot, request, obj)`` - the rendered-ready panels of a slot, in ``order``: a list of
  ``{"key", "label", "template", "context"}`` with only the panels that returned a context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from core.permissions import user_can

PanelContext = Callable[[Any, Any], dict | None]


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    order: int = 100


@dataclass(frozen=True)
class Panel:
    slot: str
    key: str
    label: str
    template: str
    context: PanelContext
    order: int = 100
    permission: str | None = None


_nav: dict[str, NavItem] = {}
_panels: dict[tuple[str, str], Panel] = {}


def nav_item(url_name: str, label: str, *, order: int = 100) -> None:
    """Register a header link (idempotent: registering the same URL name again replaces it)."""
    _nav[url_name] = NavItem(url_name, label, order)


def panel(
    slot: str,
    key: str,
    *,
    label: str,
    template: str,
    context: PanelContext,
    order: int = 100,
    permission: str | None = None,
) -> None:
    """Register a panel for ``slot`` (idempotent per ``(slot, key)``)."""
    _panels[(slot, key)] = Panel(slot, key, label, template, context, order, permission)


def nav_links() -> list[dict[str, str]]:
    """The header links whose pages are installed, in order: ``[{"url", "label", "url_name"}]``."""
    links = []
    for item in sorted(_nav.values(), key=lambda i: (i.order, i.label)):
        try:
            links.append({"url": reverse(item.url_name), "label": item.label, "url_name": item.url_name})
        except NoReverseMatch:
            continue
    return links


def panels_for(slot: str, request, obj) -> list[dict[str, Any]]:
    """The panels of ``slot`` that this request may see and that have something to show."""
    shown = []
    for p in registered_panels(slot):
        if p.permission and not user_can(request.user, p.permission):
            continue
        context = p.context(request, obj)
        if context is None:
            continue
        shown.append({"key": p.key, "label": p.label, "template": p.template, "context": context})
    return shown


def registered_panels(slot: str) -> list[Panel]:
    """Every panel registered for ``slot`` (for tests and docs), in order."""
    return sorted((p for p in _panels.values() if p.slot == slot), key=lambda p: (p.order, p.key))
