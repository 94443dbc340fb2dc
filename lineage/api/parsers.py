"""Request parsing for OpenLineage producers: JSON, optionally gzip-compressed
(``Content-Encoding: gzip``, as the openlineage-python HTTP transport sends with compression)."""

from __future__ import annotations

import gzip
import json
import zlib

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

MAX_DECOMPRESSED = 32 * 1024 * 1024  # a gzip bomb stops here


class OpenLineageJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = stream.read() if stream is not None else b""
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").lower().strip() if request is not None else ""
        if encoding == "gzip":
            try:
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = decompressor.decompress(body, MAX_DECOMPRESSED)
                if decompressor.unconsumed_tail:
                    raise ParseError("request body: decompressed size over the limit")
            except (zlib.error, gzip.BadGzipFile):
                raise ParseError("request body: Content-Encoding is gzip but the body is not valid gzip") from None
        elif encoding not in ("", "identity"):
            raise ParseError("request body: unsupported Content-Encoding (use gzip or none)")
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ParseError("request body: not valid JSON") from None
