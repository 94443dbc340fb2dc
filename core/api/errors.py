"""The single error shape every API endpoint returns (settings: REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Error shape (all 4xx/5xx from the API)::

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}

``fields`` is present only for validation errors. Messages never echo submitted values.

The same envelope answers what never reaches a DRF view or escapes it (issue 17, items 2 and 7):
a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 ``too_large``; a database failure mid-request
a 503 ``database_unavailable`` (logged with its traceback, never shown), an integrity error a
409 ``conflict``, a value the column cannot hold (or a number past SQLite's range) a 400; and for paths under
``/api/`` (and ``/marquez/api/``) the project's 400/403/404/500 handlers (``config/urls.py``) answer
in JSON instead of Django's HTML pages.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("core.api.errors")
API_PREFIXES = ("/api/", "/marquez/api/")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "request body: over DATA_UPLOAD_MAX_MEMORY_SIZE bytes"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "the change conflicts with the stored data; reload and try again"


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "the database is unavailable; try again"


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "message_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    """Wrap DRF's handler so every error has the same envelope; model validation becomes a 400."""
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, OperationalError | InterfaceError):
        # a dropped connection, a server restart: the client gets the envelope, the log the cause
        logger.error("database error in %s", _view_name(context), exc_info=exc)
        _discard_broken_connections()
        exc = DatabaseUnavailable()
    elif isinstance(exc, IntegrityError):
        logger.warning("integrity error in %s", _view_name(context), exc_info=exc)
        exc = Conflict()
    elif isinstance(exc, OverflowError):
        # a number past what the database stores (SQLite: 2^63) in a filter or a field
        exc = exceptions.ValidationError({"non_field_errors": ["a number in the request is out of range"]})
    elif isinstance(exc, DataError):
        exc = exceptions.ValidationError({"non_field_errors": ["a value does not fit the database column"]})
    elif isinstance(exc, PermissionDenied):
        # a service's refusal names role, action and kind of object ("viewer may not change
        # assets"), never a submitted value (accounts.permissions.require)
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    error: dict = {"status": response.status_code, "code": getattr(exc, "default_code", "error")}
    if isinstance(exc, exceptions.ValidationError):
        error["code"] = "invalid"
        if isinstance(detail, dict):
            error["fields"] = detail
            first_field, first_errors = next(iter(detail.items()), ("", [""]))
            first = first_errors[0] if isinstance(first_errors, list) and first_errors else first_errors
            error["message"] = f"{first_field}: {first}" if first_field != "non_field_errors" else str(first)
        else:
            error["message"] = "; ".join(str(item) for item in detail) if isinstance(detail, list) else str(detail)
    else:
        error["message"] = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            error["code"] = codes
    response.data = {"error": error}
    return response


def error_response(message: str, *, status_code: int = status.HTTP_400_BAD_REQUEST, code: str = "invalid") -> Response:
    """An error in the shared envelope, for views that fail outside DRF's exception flow."""
    return Response({"error": {"status": status_code, "code": code, "message": message}}, status=status_code)


def _view_name(context) -> str:
    view = (context or {}).get("view")
    return type(view).__name__ if view is not None else "a view"


def _discard_broken_connections() -> None:
    """Close connections that are unusable, so the next request opens a fresh one (not this 503 again)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


def is_api_path(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def _envelope(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"status": status_code, "code": code, "message": message}}, status=status_code)


def bad_request(request, exception=None, template_name="400.html"):
    """handler400: a request Django refused before or outside a view (e.g. a body over the limit)."""
    if not is_api_path(request):
        return defaults.bad_request(request, exception, template_name)
    if isinstance(exception, RequestDataTooBig):
        return _envelope(413, "too_large", PayloadTooLarge.default_detail)
    return _envelope(400, "bad_request", "bad request")


def permission_denied(request, exception=None, template_name="403.html"):
    """handler403 (CSRF refusals and the like outside DRF)."""
    if not is_api_path(request):
        return defaults.permission_denied(request, exception, template_name)
    return _envelope(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request, exception=None, template_name="404.html"):
    """handler404: an unknown path under /api/ answers in the envelope, without echoing the path."""
    if not is_api_path(request):
        return defaults.page_not_found(request, exception, template_name)
    return _envelope(404, "not_found", "Not found.")


def server_error(request, template_name="500.html"):
    """handler500: whatever escaped (already logged by Django) as the envelope, no detail."""
    if not is_api_path(request):
        return defaults.server_error(request, template_name)
    return _envelope(500, "server_error", "internal error; the server logged it")
