"""Who may read and who may write (see README, "Security").

- Reading (the dashboard, every read API, the live stream): a member of the `viewer` group, staff or a
  superuser; anyone at all when PUBLIC_READ is on (a wall screen on a trusted network).
- Editing (loading data from the browser, managing alerts): a member of the `editor` group, staff or a
  superuser. Editors read everything viewers read.
- Writing sales (POST /api/sales/ingest): a member of the `ingest` group (or a superuser), by token.
  An ingest token cannot read, a viewer cannot write.
- The admin: staff, with Django's own permissions.

Browsers log in with a session (the login page), scripts send `Authorization: Token <key>`
(`manage.py access_token_create`). Groups are created by core's migration.
"""

from __future__ import annotations

import math
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEWER_GROUP = "viewer"
EDITOR_GROUP = "editor"
INGEST_GROUP = "ingest"
GROUPS = (VIEWER_GROUP, EDITOR_GROUP, INGEST_GROUP)
# Membership of any of these lets a user read (an editor reads what a viewer reads).
READER_GROUPS = (VIEWER_GROUP, EDITOR_GROUP)


def user_can_read(*, user: Any) -> bool:
    """Whether `user` may read the sales figures (PUBLIC_READ opens them to everyone)."""
    if settings.PUBLIC_READ:
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or user.groups.filter(name__in=READER_GROUPS).exists()


async def user_can_read_async(*, user: Any) -> bool:
    if settings.PUBLIC_READ:
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or await user.groups.filter(name__in=READER_GROUPS).aexists()


def user_can_edit(*, user: Any) -> bool:
    """Whether `user` may load data and manage alerts: an editor, staff or a superuser (never by
    PUBLIC_READ, which opens reading only)."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or user.groups.filter(name=EDITOR_GROUP).exists()


def user_can_ingest(*, user: Any) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name=INGEST_GROUP).exists()


class ReadAccess(BasePermission):
    """The default of every DRF view: safe methods for readers (see user_can_read), no writes.
    An anonymous client gets a 401 (DRF turns a refusal without credentials into one), a logged-in
    user who is not a reader a 403."""

    message = "you do not have read access: ask an administrator to add you to the viewer group"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return user_can_read(user=request.user)
        # A method the view does not have gets its 405 (there is nothing behind it to protect);
        # a view that writes sets permissions of its own (IngestAccess).
        return not hasattr(view, request.method.lower())


class EditAccess(BasePermission):
    """Reads for readers (as ReadAccess), writes for editors and staff (user_can_edit)."""

    message = "you may not change this: ask an administrator to add you to the editor group"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            # A refused read names the group that reads (DRF reads the message after this call).
            self.message = ReadAccess.message
            return user_can_read(user=request.user)
        return user_can_edit(user=request.user)


class IngestAccess(BasePermission):
    message = "this token cannot ingest sales: its user must be in the ingest group"

    def has_permission(self, request, view) -> bool:
        return user_can_ingest(user=request.user)


# ---------------------------------------------------------------- the async stream path

TOKEN_PREFIX = "token "  # noqa: S105  (the scheme word, not a secret)


async def _token_user(*, key: str) -> Any:
    from core.selectors import access_token_user

    return await sync_to_async(access_token_user)(key=key)


class TokenThrottledError(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


async def request_user_async(request: HttpRequest) -> tuple[Any, bool]:
    """(user, bad_credentials) of a request on the async path: `Authorization: Token <key>` if sent,
    else the session. The lookups run through Django's async ORM (off the event loop). A client past
    its rate of failed tokens gets TokenThrottledError, as on the DRF views (core.throttling)."""
    from core.throttling import TokenFailureThrottle

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(TOKEN_PREFIX):
        return await request.auser(), False
    throttle = TokenFailureThrottle()
    if (wait := await sync_to_async(throttle.retry_after)(request)) is not None:
        raise TokenThrottledError(wait)
    user = await _token_user(key=header[len(TOKEN_PREFIX) :].strip())
    if user is None:
        await sync_to_async(throttle.failure_record)(request)
        return AnonymousUser(), True
    return user, False


async def read_access_check_async(request: HttpRequest) -> JsonResponse | None:
    """None when the request may read (then `request.reader` is the user, anonymous under PUBLIC_READ);
    else the JSON 401 (no or bad credentials), 403 or 429 (too many bad tokens) to answer.
    For the async views (the stream), which DRF's permissions do not reach."""
    from core.api import error_response  # core.api imports DRF's views, which import this module

    if settings.PUBLIC_READ:
        request.reader = AnonymousUser()  # type: ignore[attr-defined]  # our own attribute, read by the stream
        return None
    try:
        user, bad_credentials = await request_user_async(request)
    except TokenThrottledError as throttled:
        response = error_response(
            "too many failed token authentications from this client. "
            f"Expected available in {math.ceil(throttled.wait)} seconds.",
            status=429,
        )
        response["Retry-After"] = str(math.ceil(throttled.wait))
        return response
    if await user_can_read_async(user=user):
        request.reader = user  # type: ignore[attr-defined]  # our own attribute, read by the stream
        return None
    if bad_credentials or not user.is_authenticated:
        # DRF's own words, so that every path says the same.
        response = error_response(
            "Invalid token." if bad_credentials else str(NotAuthenticated.default_detail), status=401
        )
        response["WWW-Authenticate"] = "Token"
        return response
    return error_response(ReadAccess.message, status=403)


def read_required(view):
    """A page for readers: anonymous visitors are sent to the login page, other users get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if user_can_read(user=request.user):
            return view(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied(ReadAccess.message)

    return wrapper
