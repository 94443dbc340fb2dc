"""The single error shape every API endpoint returns (settings: REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Error shape (all 4xx/5xx from the API)::

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}

``fields`` is present only for validation errors. Messages never echo submitted values.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
