"""The upload route, speaking tus 1.0 (https://tus.io/protocols/resumable-upload): creation (POST),
the offset (HEAD), pieces (PATCH), termination (DELETE). The page's client is tus-js-client.

Plain Django views: CSRF is checked by Django's middleware on every POST, PATCH and DELETE (the page
sends X-CSRFToken), and who is asking is checked before the body is read. Each PATCH carries at most
UPLOAD_CHUNK_BYTES; the file grows on disk piece by piece.
"""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.access import EditAccess, user_can_edit
from core.api import error_response
from uploads import selectors, services

TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"


def _tus(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def _error(message: str, status: int) -> HttpResponse:
    return _tus(error_response(message, status=status))


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """A 401/403 for anyone who may not upload, before a byte of the body is read."""
    if user_can_edit(user=request.user):
        return None
    if not request.user.is_authenticated:
        return _error("log in as an editor to upload files", 401)
    return _error(EditAccess.message, 403)


def _header_int(request: HttpRequest, name: str) -> int | None:
    raw = request.headers.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 20 else None


def _metadata(request: HttpRequest) -> dict[str, str]:
    """tus's Upload-Metadata: `key base64value` pairs separated by commas."""
    pairs = {}
    for part in request.headers.get("Upload-Metadata", "").split(","):
        key, _, value = part.strip().partition(" ")
        try:
            pairs[key] = base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            pairs[key] = ""
    return pairs


@require_http_methods(["OPTIONS", "POST"])
def tus_create(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,termination"
        response["Tus-Max-Size"] = str(settings.UPLOAD_MAX_BYTES)
        return _tus(response)
    if (refusal := _refusal(request)) is not None:
        return refusal
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return _error(f"Tus-Resumable must be {TUS_VERSION}", 412)
    length = _header_int(request, "Upload-Length")
    if length is None:
        return _error("Upload-Length: the file's size in bytes is required", 400)
    try:
        job = services.upload_create(user=request.user, filename=_metadata(request).get("filename", ""), size=length)
    except services.UploadRefused as refused:
        return _error(refused.message, refused.status)
    response = HttpResponse(status=201)
    response["Location"] = reverse("upload-tus-file", kwargs={"key": job.stored_name})
    response["Upload-Offset"] = "0"
    return _tus(response)


@require_http_methods(["HEAD", "PATCH", "DELETE"])
def tus_file(request: HttpRequest, key: str) -> HttpResponse:
    if (refusal := _refusal(request)) is not None:
        return refusal
    job = selectors.upload_job_get(user=request.user, key=key)
    if job is None:
        return _error("no such upload", 404)
    if job.status == job.Status.EXPIRED:
        # tus: an expired upload is gone; the client starts a new one.
        return _error("this upload expired before it was completed; send the file again", 410)
    if request.method == "HEAD":
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(job.received)
        response["Upload-Length"] = str(job.size)
        return _tus(response)
    if request.method == "DELETE":
        return _tus_delete(job)
    return _tus_patch(request, job)


def _tus_patch(request: HttpRequest, job) -> HttpResponse:
    if request.content_type != OFFSET_TYPE:
        return _error(f"Content-Type must be {OFFSET_TYPE}", 415)
    offset, length = _header_int(request, "Upload-Offset"), _header_int(request, "Content-Length")
    if offset is None:
        return _error("Upload-Offset: where this piece starts, in bytes, is required", 400)
    if length is None:
        return _error("Content-Length is required", 411)
    if length > settings.UPLOAD_CHUNK_BYTES:
        return _error(f"a piece may carry at most {settings.UPLOAD_CHUNK_BYTES:,} bytes (UPLOAD_CHUNK_BYTES)", 413)
    try:
        received = services.upload_chunk_write(job=job, offset=offset, body=request, length=length)
    except services.UploadRefused as refused:
        return _error(refused.message, refused.status)
    response = HttpResponse(status=204)
    response["Upload-Offset"] = str(received)
    return _tus(response)


def _tus_delete(job) -> HttpResponse:
    try:
        services.upload_job_cancel(job=job)
    except services.UploadRefused as refused:
        return _error(refused.message, refused.status)
    return _tus(HttpResponse(status=204))
