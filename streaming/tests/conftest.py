"""Fixtures of the streaming tests: a small sales history with fitted profiles,
a Daphne with a short heartbeat, and a real SSE client (httpx-sse) reading it
in a background thread."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time

import httpx
import pytest
from httpx_sse import aconnect_sse

from core.testing import history_load
from streaming import services

HEARTBEAT_SECONDS = 1


@pytest.fixture
def small_history(tmp_path):
    """2 stores x 3 items, 2016-2017 as generated (not moved to today), profiles fitted; the generated rows."""
    history = history_load(tmp_path, stores=2, items=3, seed=7, align_to_today=False)
    services.profile_fit()
    return history.frame


@pytest.fixture
def stream_server(django_db_setup, viewer_token, tmp_path):
    """Daphne serving the project with a 1 s heartbeat (and Redis check); get()/post() send a viewer's token."""
    from core.testing import DaphneProcess

    server = DaphneProcess(
        # Room for the tests that open dozens of streams as one viewer.
        env={"STREAMING_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS), "STREAMING_MAX_PER_CLIENT": "100"},
        log_dir=tmp_path,
        headers={"Authorization": f"Token {viewer_token}"},
    )
    server.start()
    yield server
    server.stop()


class SSEListener:
    """An SSE client in a background thread. Events (httpx_sse.ServerSentEvent) or,
    with lines=True, raw lines land in a queue; a final None marks the end of the
    stream and an exception instance a failure to connect."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, lines: bool = False) -> None:
        self.url = url
        self.headers = headers or {}
        self.lines = lines
        self.items: queue.Queue = queue.Queue()
        self.response: httpx.Response | None = None
        self.connected = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.connected.wait(10):
            raise TimeoutError(f"no response from {url}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._read())
        try:
            self._loop.run_until_complete(self._task)
        except BaseException:  # cancelled by close()
            pass
        finally:
            self.items.put(None)
            self.connected.set()

    async def _read(self) -> None:
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
                aconnect_sse(client, "GET", self.url, headers=dict(self.headers)) as source,
            ):
                self.response = source.response
                self.connected.set()
                if self.lines:
                    async for line in source.response.aiter_lines():
                        self.items.put(line)
                else:
                    async for event in source.aiter_sse():
                        self.items.put(event)
        except (httpx.HTTPError, OSError) as error:
            self.items.put(error)

    def next(self, *, timeout: float = 10.0, event: str | None = None):
        """The next item (the next event of type `event` if given); None at end of stream."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"nothing (event={event}) within {timeout}s from {self.url}")
            try:
                item = self.items.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(item, Exception):
                raise item
            if item is None or event is None or getattr(item, "event", None) == event:
                return item

    def sales(self, count: int, *, timeout: float = 10.0) -> list[dict]:
        return [json.loads(self.next(event="sales", timeout=timeout).data) for _ in range(count)]

    def drain(self, *, seconds: float) -> list:
        """Everything that arrives within `seconds` (stops early at end of stream)."""
        got = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = self.items.get(timeout=remaining)
            except queue.Empty:
                break
            if item is None:
                break
            got.append(item)
        return got

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def __enter__(self) -> SSEListener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture
def sse(viewer_token):
    """Open SSE listeners with sse(url, ...), as a viewer (a token; sse(url, anonymous=True): none);
    all are closed at the end of the test."""
    opened: list[SSEListener] = []

    def open_listener(url: str, *, anonymous: bool = False, headers: dict[str, str] | None = None, **kwargs):
        credentials = {} if anonymous else {"Authorization": f"Token {viewer_token}"}
        listener = SSEListener(url, headers={**credentials, **(headers or {})}, **kwargs)
        opened.append(listener)
        return listener

    yield open_listener
    for listener in opened:
        listener.close()
