"""An ASGI handler for long-lived async views: the live stream.

Django's own ASGIHandler gives every request a thread-sensitive context, and the first
thread-sensitive sync call of the request (a sync or dual-mode middleware's thread hop, the
`request_started` signal's sync receiver, an async ORM call behind `request.auser()`) starts a
thread that lives as long as the request. For an API call that is a few milliseconds; for an SSE
stream it is a thread per open stream for hours (bench/sse.py: 1,008 threads at 1,000 streams).

This handler serves a few paths (see config/asgi.py) with
- a middleware chain of its own in which every middleware is async-only, so no sync adapter sits
  in it and the view runs in the event loop;
- one shared thread for whatever thread-sensitive sync work remains (the signal receivers, the
  session and user lookups behind `await request.auser()`). Those run once when a stream opens
  and once when it closes, a millisecond each, so one thread serves them all and the thread count
  stays flat however many streams are open.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string


class AsyncOnlyASGIHandler(ASGIHandler):
    def __init__(self, *, middleware: Sequence[str]) -> None:
        self.middleware = tuple(middleware)
        self.sync_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="async-path-sync")
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the chain from `self.middleware` (not settings.MIDDLEWARE), refusing any
        middleware that is not async-only."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response_async)
        for path in reversed(self.middleware):
            factory = import_string(path)
            if getattr(factory, "sync_capable", True) or not getattr(factory, "async_capable", False):
                raise ImproperlyConfigured(
                    f"{path} is not async-only (django.utils.decorators.async_only_middleware): on this path a "
                    "sync or dual-mode middleware would put a thread hop, and a thread per open stream, in the chain"
                )
            handler = convert_exception_to_response(factory(handler))
        self._middleware_chain = handler

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"{type(self).__name__} serves HTTP only, not {scope['type']}")
        async with ThreadSensitiveContext(executor=self.sync_executor):
            await self.handle(scope, receive, send)
