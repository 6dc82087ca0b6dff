"""One fan-out hub per Daphne process between the channel layer and the open
SSE streams.

Why a hub instead of one channel-layer channel per stream: the hub holds a
single channel in the `sales-stream` group, so an event costs one Redis message
per process however many browsers are connected, and it serialises each event
once. Every stream gets a bounded queue of its own; a stream that falls that
far behind is told to reconnect (it resumes from the event log) instead of
growing memory.

Completeness does not rest on the channel layer (RedisPubSubChannelLayer is
at-most-once across a Redis reconnect). Event ids are committed in order, so
when the hub receives id N and last delivered M < N - 1 it reads M+1..N-1 from
the log first; every heartbeat it also reads the log for anything newer that
never arrived. Each heartbeat it also sends itself a ping through Redis: when
that fails or does not come back, Redis is gone, so every stream is sent an
`error` event and closed (browsers reconnect with Last-Event-ID and catch up),
and the hub starts afresh with the next stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from core.numbers import json_dumps
from streaming import selectors
from streaming.services import STREAM_GROUP

logger = logging.getLogger(__name__)

REPLAY_PAGE = 500
START_TIMEOUT_SECONDS = 5.0


def db(fn):
    """Run a sync ORM call off the event loop in the loop's shared, bounded thread pool.

    Not thread-sensitive on purpose: the sync middleware gives each request its own
    executor thread for as long as the response lasts, so with the default every open
    stream would hold a thread *and* a database connection (100 streams exhausted
    PostgreSQL's max_connections in the benchmark). The shared pool bounds both."""
    return database_sync_to_async(fn, thread_sensitive=False)


HEARTBEAT = b": heartbeat\n\n"


def sse_frame(*, event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json_dumps(data))
    return ("\n".join(lines) + "\n\n").encode()


class EventFrames:
    """One event's `sales` frames, each serialised once however many streams send it: the summary
    (selectors.sales_event_summary) for streams without filters, and for each distinct store/item
    filter the summary plus the rows inside that filter. None where a stream gets nothing: an
    empty batch, or no row inside its filter."""

    __slots__ = ("_frames", "_summary", "event")

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._summary: dict[str, Any] | None = None
        self._frames: dict[tuple[tuple[str, ...], tuple[str, ...]], bytes | None] = {}

    @property
    def id(self) -> int:
        return self.event["id"]

    def frame(self, *, stores: tuple[str, ...] = (), items: tuple[str, ...] = ()) -> bytes | None:
        key = (stores, items)
        if key not in self._frames:
            self._frames[key] = self._build(stores=stores, items=items)
        return self._frames[key]

    def _build(self, *, stores: tuple[str, ...], items: tuple[str, ...]) -> bytes | None:
        if self._summary is None:
            self._summary = selectors.sales_event_summary(self.event)
        data = dict(self._summary)
        if stores or items:
            wanted_stores, wanted_items = set(stores), set(items)
            rows = [
                row
                for row in self.event["rows"]
                if (not stores or row["store"] in wanted_stores) and (not items or row["item"] in wanted_items)
            ]
            if not rows:
                return None
            data["rows"] = rows
        elif not data["total"]:
            return None
        return sse_frame(event="sales", data=data, event_id=self.id)


@dataclass(frozen=True, slots=True)
class SalesEntry:
    """A batch for one stream: the event's frames (shared by every stream) and, for the last batch
    of a fan-out, the stream's metrics frame. Sales and metrics travel as one entry and
    leave as one write: with thousands of streams, every wake-up and every send per stream counts."""

    frames: EventFrames
    metrics_frame: bytes | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatEntry:
    """Time for a heartbeat comment (one timer in the hub for every stream)."""


# Why a stream ends with an `error` event, for the page to tell a broker outage (a state it shows
# until the broker is back) from a reconnect it makes at once.
CAUSE_BEHIND = "fell_behind"
CAUSE_BROKER = "broker_unreachable"
CAUSE_DATABASE = "database_unavailable"


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """The stream must end with an `error` event saying why (it fell behind, or Redis went away)."""

    message: str
    cause: str


def error_frame(*, message: str, cause: str) -> bytes:
    """The `error` event that ends a stream: `error` for people, `cause` (CAUSE_*) for the page."""
    return sse_frame(event="error", data={"error": message, "cause": cause})


QueueEntry = SalesEntry | HeartbeatEntry | ErrorEntry
HEARTBEAT_ENTRY = HeartbeatEntry()


@dataclass(eq=False)
class StreamClient:
    """One open SSE response: its filters and its bounded queue of `QueueEntry`."""

    stores: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    owner: str = ""  # whose stream it is, for the per-client cap: "user:<id>" or "address:<ip>"
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=settings.STREAMING_CLIENT_QUEUE_SIZE))

    @property
    def filter_key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (self.stores, self.items)

    def offer(self, entry: QueueEntry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            # Too slow to keep up: drop its backlog and make it reconnect and replay from the log.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(ErrorEntry("stream fell behind; reconnect with Last-Event-ID", CAUSE_BEHIND))

    def sales_frame(self, frames: EventFrames) -> bytes | None:
        return frames.frame(stores=self.stores, items=self.items)


class StreamHub:
    def __init__(self) -> None:
        self.ident = uuid.uuid4().hex
        self.clients: set[StreamClient] = set()
        self.open_streams = 0
        self.last_id = 0
        self.channel: str | None = None
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()  # start / stop
        self._delivery = asyncio.Lock()  # one fan-out at a time, so ids go out in order
        self._ping_sent = 0
        self._ping_seen = 0
        self._gc_threshold: tuple[int, int, int] | None = None
        self._gc_last = 0.0
        # Admitted streams, all and per owner. Weak: a stream admitted whose response never started
        # (the client left at once) runs no `finally`; it leaves these sets when it is collected.
        self._admitted: weakref.WeakSet[StreamClient] = weakref.WeakSet()
        self._owners: dict[str, weakref.WeakSet[StreamClient]] = {}

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def status(self) -> dict[str, Any]:
        return {
            "open_streams": self.open_streams,
            "clients": len(self.clients),
            "hub_running": self.running,
            "last_event_id": self.last_id,
        }

    def stream_admit(self, client: StreamClient) -> str | None:
        """Admit `client` under the caps (STREAMING_MAX_PER_PROCESS, STREAMING_MAX_PER_CLIENT for its
        owner), counting it at once so that a burst of connections cannot all slip past the check.
        Returns None, or why it is refused; stream_open releases the place when the stream ends."""
        if len(self._admitted) >= settings.STREAMING_MAX_PER_PROCESS:
            return (
                f"this server has {len(self._admitted)} open streams, its limit (STREAMING_MAX_PER_PROCESS): "
                "try again later"
            )
        owned = self._owners.setdefault(client.owner, weakref.WeakSet())
        if len(owned) >= settings.STREAMING_MAX_PER_CLIENT:
            return (
                f"this client has {len(owned)} open streams, its limit (STREAMING_MAX_PER_CLIENT): "
                "close one before opening another"
            )
        owned.add(client)
        self._admitted.add(client)
        if len(self._owners) > 2 * len(self._admitted) + 100:
            self._owners = {owner: streams for owner, streams in self._owners.items() if streams}
        return None

    def stream_release(self, client: StreamClient) -> None:
        self._admitted.discard(client)
        if (owned := self._owners.get(client.owner)) is not None:
            owned.discard(client)
            if not owned:
                del self._owners[client.owner]

    @contextlib.asynccontextmanager
    async def stream_open(self, client: StreamClient) -> AsyncIterator[None]:
        """Count an open stream for as long as the block runs, and detach `client` when it ends
        (however it ends: the client went away, it fell behind, Redis failed)."""
        self.open_streams += 1
        try:
            yield
        finally:
            self.open_streams -= 1
            self.stream_release(client)
            await self.unregister(client)

    async def register(self, client: StreamClient) -> None:
        """Attach `client`, subscribing to the group first if this is the first stream.
        Raises when Redis cannot be reached."""
        async with self._lock:
            if not self.running:
                await self._start()
            self.clients.add(client)

    async def unregister(self, client: StreamClient) -> None:
        self.clients.discard(client)
        if self.clients:
            return
        async with self._lock:
            if not self.clients and self.running:
                await self._stop()

    # ------------------------------------------------------------ life cycle

    async def _start(self) -> None:
        layer = get_channel_layer()
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                self.channel = await layer.new_channel()
                await layer.group_add(STREAM_GROUP, self.channel)
            # Subscribed before reading the log: anything committed after this read arrives live.
            self.last_id = await db(selectors.event_latest_id)()
        except BaseException:
            # Redis down, the database down, or the client gone meanwhile: leave no subscription
            # behind, or its queue would collect every event from now on with nobody reading it.
            await self._layer_reset()
            self.channel = None
            raise
        self._ping_sent = self._ping_seen = 0
        self._gc_take_over()
        # A fresh context: the hub outlives the request that happened to start it.
        self._tasks = [
            asyncio.create_task(self._receive(), context=contextvars.Context()),
            asyncio.create_task(self._watch(), context=contextvars.Context()),
        ]
        logger.info("stream hub subscribed", extra={"channel": self.channel, "last_event_id": self.last_id})

    async def _stop(self, *, reset: bool = False) -> None:
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                # Cancelled, or failed already: it is stopping either way.
                with contextlib.suppress(BaseException):
                    await task
        self._tasks = []
        self._gc_give_back()
        if reset:
            await self._layer_reset()
        else:
            try:
                await get_channel_layer().group_discard(STREAM_GROUP, self.channel)
            except Exception as error:
                logger.warning("stream hub group_discard failed", extra={"error": str(error)})
                await self._layer_reset()
        self.channel = None
        logger.info("stream hub stopped")

    async def _layer_reset(self) -> None:
        # Drops this process's subscriptions and connections (and the layer's retry loop, which
        # would otherwise log an exception every second while Redis is away).
        try:
            await get_channel_layer().flush()
        except Exception as error:
            logger.warning("channel layer flush failed", extra={"error": str(error)})

    async def _fail(self, reason: str, *, detail: str = "") -> None:
        """End every stream with `reason` (what the client reads: no host names, no exception text;
        the log has `detail`)."""
        logger.warning(
            "stream hub lost redis", extra={"reason": reason, "detail": detail, "streams": len(self.clients)}
        )
        async with self._lock:
            for client in list(self.clients):
                client.offer(ErrorEntry(reason, CAUSE_BROKER))
            self.clients.clear()
            await self._stop(reset=True)

    # ------------------------------------------------------------ garbage collection
    #
    # With thousands of open streams the process holds a few million objects, and a full
    # collection (a tenth of a second or more) triggered by allocation counts tends to land in the
    # middle of a fan-out and multiply its p99 (bench/sse.py; the figures are in the README).
    # While streams are open, full collections come off the allocation trigger and run from the
    # heartbeat timer every STREAMING_GC_SECONDS instead, between batches; young generations
    # are untouched, so short-lived garbage is freed as usual.

    def _gc_take_over(self) -> None:
        if not settings.STREAMING_GC_SECONDS or self._gc_threshold is not None:
            return
        self._gc_threshold = gc.get_threshold()
        young, middle, _ = self._gc_threshold
        gc.set_threshold(young, middle, 1_000_000)
        self._gc_last = time.monotonic()

    def _gc_give_back(self) -> None:
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None

    def _gc_collect_when_due(self) -> None:
        if self._gc_threshold is not None and time.monotonic() - self._gc_last >= settings.STREAMING_GC_SECONDS:
            gc.collect()
            self._gc_last = time.monotonic()

    # ------------------------------------------------------------ work

    async def _receive(self) -> None:
        layer = get_channel_layer()
        while True:
            message = await layer.receive(self.channel)
            kind = message.get("type")
            if kind == "sales.event":
                async with self._delivery:
                    await self._deliver(message["event"])
            elif kind == "hub.ping" and message.get("hub") == self.ident:
                self._ping_seen = max(self._ping_seen, message["nonce"])

    async def _watch(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(settings.STREAMING_HEARTBEAT_SECONDS)
            # One timer for every stream rather than a timeout per stream and per wait.
            for client in list(self.clients):
                client.offer(HEARTBEAT_ENTRY)
            self._gc_collect_when_due()
            if self._ping_seen < self._ping_sent:
                await self._fail("message broker subscription lost")
                return
            self._ping_sent += 1
            try:
                async with asyncio.timeout(START_TIMEOUT_SECONDS):
                    await layer.group_send(
                        STREAM_GROUP, {"type": "hub.ping", "hub": self.ident, "nonce": self._ping_sent}
                    )
            except Exception as error:
                await self._fail("message broker unreachable", detail=f"{type(error).__name__}: {error}")
                return
            try:
                async with self._delivery:
                    await self._catch_up(before_id=None)
            except Exception as error:
                logger.warning("stream hub catch-up failed", extra={"error": str(error)})

    async def _catch_up(self, *, before_id: int | None) -> list[dict[str, Any]]:
        missed: list[dict[str, Any]] = []
        while True:
            page = await db(selectors.events_after)(
                after_id=missed[-1]["id"] if missed else self.last_id, limit=REPLAY_PAGE, before_id=before_id
            )
            missed += page
            if len(page) < REPLAY_PAGE:
                break
        if missed:
            await self._fan_out(missed)
        return missed

    async def _deliver(self, event: dict[str, Any]) -> None:
        if event["id"] <= self.last_id:
            return  # delivered from the log already
        if event["id"] > self.last_id + 1:
            try:
                await self._catch_up(before_id=event["id"])
            except Exception as error:
                logger.warning("stream hub gap fill failed", extra={"error": str(error)})
        await self._fan_out([event])

    async def _fan_out(self, events: list[dict[str, Any]]) -> None:
        """Queue `events` (in id order) for every stream, the last one with the
        stream's updated metrics (one query for every distinct filter, not one per stream or filter)."""
        events = [event for event in events if event["id"] > self.last_id]
        if not events:
            return
        started = time.monotonic()
        clients = list(self.clients)
        last_id = events[-1]["id"]
        metrics: dict[tuple, bytes] = {}
        try:
            payloads = await db(selectors.stream_metrics_many)(
                keys=list({client.filter_key for client in clients}), last_event_id=last_id
            )
        except Exception as error:  # the sales still go out
            logger.warning("stream metrics failed", extra={"error": str(error)})
            payloads = {}
        for key, payload in payloads.items():
            metrics[key] = sse_frame(event="metrics", data=payload, event_id=last_id)
        queried = time.monotonic()
        # Streams that registered during the query have read the log after these committed.
        for event in events:
            frames = EventFrames(event)
            final = event["id"] == last_id
            for client in clients:
                client.offer(SalesEntry(frames, metrics.get(client.filter_key) if final else None))
        self.last_id = last_id
        if logger.isEnabledFor(logging.DEBUG):  # what bench/sse.py reads with BENCH_LOG_LEVEL=DEBUG
            logger.debug(
                "stream fan-out",
                extra={
                    "last_event_id": last_id,
                    "streams": len(clients),
                    "metrics_ms": round((queried - started) * 1000, 1),
                    "queue_ms": round((time.monotonic() - queried) * 1000, 1),
                    "since_event_ms": round((time.time() - _event_time(events[-1])) * 1000, 1),
                },
            )


def _event_time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["timestamp"]).timestamp()


_hubs: dict[asyncio.AbstractEventLoop, StreamHub] = {}


def stream_hub() -> StreamHub:
    """The hub of the running event loop (one per Daphne process)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = StreamHub()
    return _hubs[loop]
