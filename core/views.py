"""GET /health, GET /api/schema/, the JSON 404."""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import status

from core.api import error_response
from core.health import health_report, health_report_public


def health(request: HttpRequest) -> JsonResponse:
    """GET /health: 200 when every registered check passes, 503 naming what is down.

    A plain Django view: monitors must neither be throttled nor need a login. Anyone gets
    {"status": "up" | "down", "checks": {component: "up" | "down"}}; staff also get "details"
    (each check's own answer: latencies, errors, ages), which describe the installation."""
    if request.method not in ("GET", "HEAD"):
        return error_response("method not allowed: use GET.", status=status.HTTP_405_METHOD_NOT_ALLOWED)
    if request.user.is_staff:
        healthy, report = health_report()
    else:
        # Anyone may call it, so anyone's calls share one run of the checks every few seconds.
        healthy, report = health_report_public()
    return JsonResponse(report, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


class SchemaView(SpectacularAPIView):
    """GET /api/schema/: drf-spectacular's view, the schema built and rendered once per process and
    format (it changes only with the code), since anyone may ask for it."""

    _rendered: ClassVar[dict[str, tuple[bytes, str, str]]] = {}

    @extend_schema(exclude=True)  # as drf-spectacular's own view (SERVE_INCLUDE_SCHEMA is off)
    def get(self, request, *args, **kwargs):
        key = request.accepted_media_type
        if key not in self._rendered:
            response = super().get(request, *args, **kwargs)
            renderer = request.accepted_renderer
            body = renderer.render(response.data, key, self.get_renderer_context())
            content_type = f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else key
            self._rendered[key] = (body, content_type, response["Content-Disposition"])
        body, content_type, disposition = self._rendered[key]
        return HttpResponse(body, content_type=content_type, headers={"Content-Disposition": disposition})


def not_found(request: HttpRequest, exception=None):
    """404: JSON under /api/ (the API's error shape), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(f"not found: {request.path}", status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)
