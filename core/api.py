"""The API's error shape, for DRF views and plain Django views alike.

Every API error is JSON: {"error": "...", "parameter": "<name>"} for a bad
parameter (400), {"error": "..."} for the others (401, 403, 404, 405, 413, 429).
DRF views raise ValidationErrors keyed by the parameter name and never build
error responses themselves; plain views (the SSE stream, /health) answer with
`error_response`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

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


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "request body too large"


def body_size_check(request, *, limit: int, setting: str) -> None:
    """Refuse a body whose declared size is over `limit` bytes (the setting that sets it is named), before
    anything reads it. Logged as a warning: a client's mistake, not the server's."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > limit:
        logger.warning("request_too_large path=%s bytes=%d limit=%d", request.path, size, limit)
        raise RequestTooLarge(f"request body is {size:,} bytes, over the limit of {limit:,} bytes ({setting})")


def api_exception_handler(exc, context):
    """DRF's handler, reshaped to {"error": "...", "parameter": "..."} for 400s and
    {"error": "..."} for the other API errors (401, 403, 404, 405, 413, 429)."""
    if isinstance(exc, RequestDataTooBig):
        # Django's own cap (DATA_UPLOAD_MAX_MEMORY_SIZE), met by a body that declared no size: a 413 like ours,
        # not Django's HTML 400 with an error-level traceback.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        logger.warning("request_too_large path=%s limit=%d", context["request"].path, limit)
        exc = RequestTooLarge(f"request body over the limit of {limit:,} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)")
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
