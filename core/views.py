"""GET /health."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status

from core.api import error_response
from core.health import health_report


def health(request: HttpRequest) -> JsonResponse:
    """GET /health: 200 when every registered check passes, 503 naming what is down.

    A plain Django view: monitors must neither be throttled nor need a login. Anyone gets
    {"status": "up" | "down", "checks": {component: "up" | "down"}}; staff also get "details"
    (each check's own answer: latencies, errors, ages), which describe the installation."""
    if request.method not in ("GET", "HEAD"):
        return error_response("method not allowed: use GET.", status=status.HTTP_405_METHOD_NOT_ALLOWED)
    healthy, report = health_report()
    if not request.user.is_staff:
        del report["details"]
    return JsonResponse(report, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


def not_found(request: HttpRequest, exception=None):
    """404: JSON under /api/ (the API's error shape), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(f"not found: {request.path}", status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)
