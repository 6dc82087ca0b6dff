"""The dashboard page: one template; every panel loads its data from the JSON API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from frontend.selectors import dashboard_bootstrap


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/dashboard.html", {"bootstrap": dashboard_bootstrap()})
