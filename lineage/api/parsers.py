"""Request parsing for OpenLineage producers: JSON, optionally gzip-compressed
(``Content-Encoding: gzip``, as the openlineage-python HTTP transport sends with compression).

Bodies are bounded (issue 17, item 1) whatever the encoding, and read no further than the bound:

* the bytes received: at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django's setting, which DRF's own
  JSON parser honours through ``request.body``; ``None`` leaves only the next bound);
* the JSON text (the body itself, or the body once decompressed): at most ``MAX_DECOMPRESSED``
  (``CUSTOS_OPENLINEAGE_MAX_BODY_BYTES``, 32 MiB by default), so a gzip bomb stops there too;
* nesting: at most ``core.api.parsers.MAX_DEPTH`` levels, as on every other endpoint.

Over a size bound the answer is a 413 in the API error envelope naming the setting.
"""

from __future__ import annotations

import gzip
import json
import zlib

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from core.api.parsers import MAX_DEPTH, depth_exceeds

MAX_DECOMPRESSED = 32 * 1024 * 1024  # a gzip bomb stops here


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "request body: too large"


def body_limits() -> tuple[int, int]:
    """(bytes read from the wire, bytes of JSON text) a request may carry."""
    text = int(getattr(settings, "CUSTOS_OPENLINEAGE_MAX_BODY_BYTES", MAX_DECOMPRESSED))
    wire = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (min(text, wire) if wire is not None else text), text


def _read_bounded(stream, limit: int, setting: str) -> bytes:
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise BodyTooLarge(f"request body: over {limit} bytes ({setting})")
    return body


class OpenLineageJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        wire_limit, text_limit = body_limits()
        wire_setting = (
            "DATA_UPLOAD_MAX_MEMORY_SIZE"
            if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None and wire_limit == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            else "CUSTOS_OPENLINEAGE_MAX_BODY_BYTES"
        )
        body = _read_bounded(stream, wire_limit, wire_setting)
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").lower().strip() if request is not None else ""
        if encoding == "gzip":
            try:
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = decompressor.decompress(body, text_limit)
                if decompressor.unconsumed_tail:
                    raise BodyTooLarge(
                        f"request body: decompressed size over {text_limit} bytes (CUSTOS_OPENLINEAGE_MAX_BODY_BYTES)"
                    )
            except (zlib.error, gzip.BadGzipFile):
                raise ParseError("request body: Content-Encoding is gzip but the body is not valid gzip") from None
        elif encoding not in ("", "identity"):
            raise ParseError("request body: unsupported Content-Encoding (use gzip or none)")
        limit = getattr(settings, "CUSTOS_JSON_MAX_DEPTH", MAX_DEPTH)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ParseError("request body: not valid JSON") from None
        except RecursionError:
            raise ParseError(f"request body: JSON nested deeper than {limit} levels") from None
        if depth_exceeds(data, limit):
            raise ParseError(f"request body: JSON nested deeper than {limit} levels")
        return data
