"""Filters of the evidence report: times for people, not parsers."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def when(value: str | None) -> str:
    """``2026-11-26T16:49:01.938605Z`` -> ``26 Nov 2026, 16:49 UTC`` (the JSON keeps the full ISO time)."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


EFFECTS = {"allow": "allowed", "allow_masked": "allowed, identifiers masked", "deny": "denied"}


@register.filter
def effect(value: str | None) -> str:
    """An access decision's effect in words (``allow_masked`` -> ``allowed, identifiers masked``)."""
    return EFFECTS.get(value or "", value or "—")
