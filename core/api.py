"""The API's error shape, for DRF views and plain Django views alike.

Every API error is JSON: {"error": "...", "parameter": "<name>"} for a bad
parameter (400), {"error": "..."} for the others (401, 403, 404, 405, 413, 429).
DRF views raise ValidationErrors keyed by the parameter name and never build
error responses themselves; plain views (the SSE stream, /health) answer with
`error_response`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

# The OpenAPI component of every error answer.
ERROR_RESPONSE = inline_serializer(
    "ApiError", fields={"error": serializers.CharField(), "parameter": serializers.CharField(required=False)}
)

_NON_FIELD_KEYS = ("non_field_errors", "__all__")


def first_error(detail: Any, path: str = "") -> tuple[str, str]:
    """(parameter path, message) of the first error in a DRF error detail, e.g.
    ("rows[2].quantity", "..."); the path is "" for an error of the whole input.

    DRF reports list items either as a list (with {} for the valid ones) or as
    {index: ...}; the empty entries are skipped."""
    if isinstance(detail, dict | list):
        entries = enumerate(detail) if isinstance(detail, list) else detail.items()
        for key, value in entries:
            if isinstance(value, dict | list) and not value:
                continue
            if isinstance(key, int):
                name = f"{path}[{key}]" if isinstance(value, dict | list) else path
            elif key in _NON_FIELD_KEYS:
                name = path
            else:
                name = f"{path}.{key}" if path else str(key)
            return first_error(value, name)
        return path, "invalid"
    return path, str(detail)


def error_body(message: str, parameter: str | None = None) -> dict[str, str]:
    """The JSON body of an API error; a bad parameter is named in the message and on its own."""
    if not parameter:
        return {"error": message}
    return {"error": f"{parameter}: {message}", "parameter": parameter}


def error_response(message: str, *, parameter: str | None = None, status: int = 400) -> JsonResponse:
    """An API error from a plain Django view (DRF views raise instead)."""
    return JsonResponse(error_body(message, parameter), status=status)


def api_exception_handler(exc, context):
    """DRF's handler, reshaped to {"error": "...", "parameter": "..."} for 400s and
    {"error": "..."} for the other API errors (401, 403, 404, 405, 429)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages})
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        parameter, message = first_error(exc.detail)
        response.data = error_body(message, parameter)
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = error_body(str(response.data["detail"]))
    return response
