from django.apps import AppConfig

# The tus route: its pieces may be larger than the general body cap, for editors and staff only.
UPLOAD_ROUTE_PREFIX = "/api/uploads/files/"


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads from the browser"

    def ready(self) -> None:
        from core.limits import body_cap_register
        from core.schedules import PERIODIC_SCHEDULES

        body_cap_register(path_prefix=UPLOAD_ROUTE_PREFIX, cap=upload_body_cap)
        PERIODIC_SCHEDULES.register("uploads", "uploads.tasks.periodic_schedules")


async def upload_body_cap(scope: dict) -> int:
    """UPLOAD_CHUNK_BYTES for a request whose session is an editor's or staff's; the general cap
    (REQUEST_BODY_MAX_BYTES) for anyone else, so that a stranger cannot make the server store a piece."""
    from asgiref.sync import sync_to_async
    from django.conf import settings

    key = _cookie(scope, settings.SESSION_COOKIE_NAME)
    if key and await sync_to_async(_session_can_edit)(key):
        return settings.UPLOAD_CHUNK_BYTES
    return settings.REQUEST_BODY_MAX_BYTES


def _cookie(scope: dict, name: str) -> str | None:
    from http.cookies import SimpleCookie

    for header, value in scope.get("headers", []):
        if header == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(name)
            if morsel is not None:
                return morsel.value
    return None


def _session_can_edit(session_key: str) -> bool:
    """Whether the session with this key is logged in as an editor or staff (Django's own lookup,
    with the session's hash check, as a request would get)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user
    from django.db import close_old_connections
    from django.http import HttpRequest

    from core.access import user_can_edit

    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        return user_can_edit(user=get_user(request))
    finally:
        close_old_connections()
