"""Request body caps: a JSON 413 before a body larger than its route takes is read.

Every route takes at most REQUEST_BODY_MAX_BYTES unless an app registers a cap for a path prefix
(`body_cap_register`), in its AppConfig.ready. A cap is an async callable of the ASGI scope, so a
route can give a larger cap to some callers only (it may look up the session or token user).

Two places enforce it, with the same registry and the same answer:
- `BodyCapMiddleware` (config/asgi.py), for any ASGI server: a declared Content-Length over the cap
  is answered before the application runs; a body without one is counted as it arrives, and the
  application sees a disconnect (then the client the 413) once it passes the cap.
- Daphne reads a whole body before it calls the application, into memory or a temporary file; our
  Daphne (config/serve.py) asks the cap as soon as the headers are in and refuses there, so a
  refused body is never stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from django.conf import settings

from core.registry import Registry

logger = logging.getLogger(__name__)

BodyCap = Callable[[dict], Awaitable[int]]


# path prefix -> cap (core.registry: the one pattern for what apps register with core).
BODY_CAPS: Registry[BodyCap] = Registry("request body cap")


def body_cap_register(*, path_prefix: str, cap: BodyCap) -> None:
    """Let requests under `path_prefix` take up to `await cap(scope)` bytes of body. The longest
    registered prefix that a path starts with wins; registering a prefix again replaces its cap."""
    if not path_prefix.startswith("/"):
        raise ValueError(f"path_prefix {path_prefix!r} must start with '/'")
    BODY_CAPS.register(path_prefix, cap)


def body_cap_unregister(*, path_prefix: str) -> None:
    BODY_CAPS.unregister(path_prefix)


async def body_cap_for(scope: dict) -> int:
    """The largest body (bytes) the request of this ASGI scope may send."""
    path = scope.get("path", "")
    for prefix in sorted(BODY_CAPS.names(), key=len, reverse=True):
        if path.startswith(prefix):
            return int(await BODY_CAPS.resolve(prefix)(scope))
    return settings.REQUEST_BODY_MAX_BYTES


class BadContentLengthError(ValueError):
    pass


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, None when it sends none; BadContentLengthError when malformed."""
    values = [value for name, value in headers if name.lower() == b"content-length"]
    if not values:
        return None
    if len(set(values)) > 1 or not values[0].strip().isdigit():
        raise BadContentLengthError(values[0].decode("latin-1"))
    return int(values[0])


def refusal_body(*, cap: int) -> bytes:
    """The JSON of a 413, in the API's error shape (core.api)."""
    message = f"the request body is larger than this route takes ({cap} bytes)."
    return json.dumps({"error": message, "parameter": "body"}).encode()


def bad_length_body() -> bytes:
    return json.dumps({"error": "Content-Length is not a whole number.", "parameter": "Content-Length"}).encode()


async def _json_answer(send, *, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyCapMiddleware:
    """ASGI middleware: see the module's docstring."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            length = declared_length(scope.get("headers", []))
        except BadContentLengthError:
            await _json_answer(send, status=400, body=bad_length_body())
            return
        cap = await body_cap_for(scope)
        if length is not None and length > cap:
            logger.warning("body_refused path=%s declared=%d cap=%d", scope.get("path"), length, cap)
            await _json_answer(send, status=413, body=refusal_body(cap=cap))
            return
        counted = _CountedBody(receive=receive, cap=cap)
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted.receive, tracked_send)
        if counted.over and not started:
            logger.warning("body_refused path=%s received_over=%d cap=%d", scope.get("path"), cap, cap)
            await _json_answer(send, status=413, body=refusal_body(cap=cap))


class _CountedBody:
    """Passes body messages on while their total stays within `cap`; past it, the application is
    told the client went away (Django then stops reading and answers nothing)."""

    def __init__(self, *, receive, cap: int) -> None:
        self._receive = receive
        self.cap = cap
        self.received = 0
        self.over = False

    async def receive(self):
        if self.over:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.cap:
                self.over = True
                return {"type": "http.disconnect"}
        return message
