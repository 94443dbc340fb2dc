"""The API's JSON parser: DRF's, plus a nesting limit (issue 17, item 2).

``json.loads`` of ``[[[[...]]]]`` 5,000 levels deep raises ``RecursionError`` (not a
``ValueError``), which DRF's parser lets through: a 500. Here a document nested deeper than
``MAX_DEPTH`` levels, or too deep for Python to decode at all, is a ``ParseError``: a 400 in the
API error shape (core.api.errors). No Custos payload needs more than a few levels.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 64


def depth_exceeds(value, limit: int) -> bool:
    """True when ``value`` nests lists/dicts deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, "CUSTOS_JSON_MAX_DEPTH", MAX_DEPTH)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels") from None
        if depth_exceeds(data, limit):
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels")
        return data
