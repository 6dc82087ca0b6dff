"""ASGI handlers: Django's, with its request threads reused, and one for long-lived async views
(the live stream).

ThreadReusingASGIHandler (every path but the stream): Django gives each request a thread-sensitive
context with an executor of its own, so each request starts a thread for its sync part (the
middleware chain, DRF's sync views) and another to join it at the end. Under load that is a few
milliseconds a request (bench/api.py). This handler hands each request an idle one-thread executor
instead (asgiref's ThreadSensitiveContext(executor=...)), and takes it back afterwards: the same
guarantee (one thread for all of a request's sync code, no two requests on one thread at once),
without a new thread per request.

It also builds its middleware chain as WSGI would, all sync, and runs the whole chain with one hop
to the request's thread. Django's ASGI chain is async from the view up to the first sync-only
middleware: every dual-mode middleware below it then runs its process_request and process_response
through sync_to_async, and the sync-only one calls back into the event loop with async_to_sync. With
our middleware and DRF's sync views that was about ten hops between the loop and the thread a
request, each a wake-up of the other side (py-spy on bench/api.py: most of the request's time in
Daphne was spent waiting at those hand-overs). Async views still work: Django runs them from the
sync chain with async_to_sync.

AsyncOnlyASGIHandler (the stream):

Django's own ASGIHandler gives every request a thread-sensitive context, and the first
thread-sensitive sync call of the request (a sync or dual-mode middleware's thread hop, the
`request_started` signal's sync receiver, an async ORM call behind `request.auser()`) starts a
thread that lives as long as the request. For an API call that is a few milliseconds; for an SSE
stream it is a thread per open stream for hours (bench/sse.py counts them).

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
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string


class ThreadReusingASGIHandler(ASGIHandler):
    # Idle executors kept beyond a burst; the rest are let go.
    max_idle = 32

    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        """The chain as WSGI builds it (sync throughout), called from the loop with one hop: see the module's
        docstring. Everything of the chain runs on the request's thread (the executor in __call__)."""
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"{type(self).__name__} serves HTTP only, not {scope['type']}")
        # Only the event loop's thread touches the idle list: no lock needed.
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            # A sync call the request abandoned (client gone) may still be running: the next request
            # on this executor queues behind it, on the same thread, never beside it.
            if len(self._idle) < self.max_idle:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)


class AsyncOnlyASGIHandler(ASGIHandler):
    def __init__(self, *, middleware: Sequence[str]) -> None:
        self.middleware = tuple(middleware)
        self.sync_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="async-path-sync")
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the chain from `self.middleware` (not settings.MIDDLEWARE), refusing any
        middleware that is not async-only."""
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
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
