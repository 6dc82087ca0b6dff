"""Async-only middleware for the paths config.handlers.AsyncOnlyASGIHandler serves (the live stream).

Django's middleware classes are dual-mode: in an async chain each of their halves is run through a
thread-sensitive `sync_to_async` hop. The parts the stream needs do no I/O (headers, a lazy session,
a lazy user), so these run them in the event loop directly, with no hop and no thread."""

from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.decorators import async_only_middleware
from whitenoise.middleware import WhiteNoiseMiddleware

logger = logging.getLogger(__name__)


@async_only_middleware
def security_middleware(get_response):
    """SecurityMiddleware (HTTPS redirect, HSTS, nosniff, referrer policy) plus the ALLOWED_HOSTS
    check that CommonMiddleware makes on the main path."""
    security = SecurityMiddleware(get_response)

    async def middleware(request):
        request.get_host()  # DisallowedHost: a 400, as on every other path
        response = security.process_request(request) or await get_response(request)
        return security.process_response(request, response)

    return middleware


@async_only_middleware
def session_auth_middleware(get_response):
    """request.session, request.user and request.auser, all lazy: the database is read only when the
    view awaits `request.auser()`. The session is never saved here, so a view on this path only reads it."""
    sessions = SessionMiddleware(get_response)
    auth = AuthenticationMiddleware(get_response)

    async def middleware(request):
        sessions.process_request(request)
        auth.process_request(request)
        return await get_response(request)

    return middleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, quiet about a STATIC_ROOT that does not exist: without collectstatic (make run, the
    tests) the files come from the apps (WHITENOISE_USE_FINDERS), and its "No directory at" warning
    at every start-up would say nothing useful."""

    def add_files(self, root, prefix=None):
        if Path(root).is_dir():
            super().add_files(root, prefix)


class StatementTimeoutMiddleware:
    """A query that ran past REQUEST_STATEMENT_TIMEOUT_MS (PostgreSQL cancelled it) becomes a JSON 503
    that says so, instead of a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.conf import settings
        from django.db import OperationalError
        from psycopg.errors import QueryCanceled

        from core.api import error_response

        if not (isinstance(exception, OperationalError) and isinstance(exception.__cause__, QueryCanceled)):
            return None
        logger.warning("statement_timeout path=%s query=%s", request.path, request.META.get("QUERY_STRING", "")[:300])
        response = error_response(
            f"this request's query ran past the server's limit of {settings.REQUEST_STATEMENT_TIMEOUT_MS} ms "
            "(REQUEST_STATEMENT_TIMEOUT_MS) and was stopped: narrow the selection (dates, stores, items), "
            "or read it in pages or as CSV (?format=csv).",
            status=503,
        )
        response["Retry-After"] = "60"
        return response


# The docs page is not an API read: drf-spectacular's Swagger view serves its own start-up script at `?script=`.
EMPTY_PARAMETER_EXEMPT_PREFIXES = ("/api/docs/",)


def empty_parameter_middleware(get_response):
    """An API request with an empty query parameter (`?date_to=`) gets a 400 naming it (core.params)."""
    from core.api import error_response
    from core.params import empty_parameter_find

    def middleware(request):
        checked = request.path.startswith("/api/") and not request.path.startswith(EMPTY_PARAMETER_EXEMPT_PREFIXES)
        if checked and (name := empty_parameter_find(request.GET)):
            return error_response("must not be empty: give a value or leave the parameter out.", parameter=name)
        return get_response(request)

    return middleware
