"""The upload page (editors and staff; the file goes up through uploads/tus.py, the rest through uploads/api.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from core.access import EditAccess, user_can_edit


@require_safe
@ensure_csrf_cookie
def upload_page(request: HttpRequest) -> HttpResponse:
    if not user_can_edit(user=request.user):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied(EditAccess.message)
    context = {"max_bytes": settings.UPLOAD_MAX_BYTES, "chunk_bytes": settings.UPLOAD_CHUNK_BYTES}
    return render(request, "uploads/upload.html", context)
