"""The hub in-process: per-stream queue, filters, garbage-collection hand-over."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from django.test import override_settings

from streaming.hub import ErrorEntry, SalesEntry, StreamClient, StreamHub, sse_frame

EVENT = {
    "id": 7,
    "timestamp": "2026-11-24T11:40:00+00:00",
    "date": "2026-11-24",
    "source": "generator",
    "rows": [{"store": 1, "item": 1, "quantity": 2}, {"store": 2, "item": 1, "quantity": 3}],
    "total": 5,
}


def test_a_stream_that_falls_behind_is_told_to_reconnect_instead_of_growing():
    async def scenario():
        with override_settings(STREAMING_CLIENT_QUEUE_SIZE=4):
            client = StreamClient()
        for _ in range(50):
            client.offer(SalesEntry(EVENT, b""))
        return [client.queue.get_nowait() for _ in range(client.queue.qsize())]

    entries = asyncio.run(scenario())
    assert len(entries) <= 4
    assert isinstance(entries[0], ErrorEntry) and "Last-Event-ID" in entries[0].message


def test_filters_narrow_rows_and_total_and_drop_empty_batches():
    everything = StreamClient()
    shared = sse_frame(event="sales", data=EVENT, event_id=7)
    assert everything.sales_frame(EVENT, shared) is shared
    store_two = StreamClient(stores=(2,))
    frame = store_two.sales_frame(EVENT).decode()
    assert frame.startswith("event: sales\nid: 7\ndata: ")
    data = json.loads(frame.split("data: ", 1)[1])
    assert data["rows"] == [{"store": 2, "item": 1, "quantity": 3}] and data["total"] == 3
    assert StreamClient(items=(9,)).sales_frame(EVENT) is None


@pytest.mark.django_db(transaction=True)
def test_full_collections_move_to_the_hub_timer_only_while_streams_are_open():
    default = gc.get_threshold()

    async def scenario():
        hub = StreamHub()
        client = StreamClient()
        await hub.register(client)
        during = gc.get_threshold()
        await hub.unregister(client)
        return during, hub.running

    during, running = asyncio.run(scenario())
    assert during[:2] == default[:2] and during[2] > default[2]
    assert not running
    assert gc.get_threshold() == default


def test_a_hub_that_cannot_start_leaves_no_subscription_behind(monkeypatch):
    # Subscribed to Redis, then the database read fails: the subscription must go too, or its
    # queue would collect every event from then on with nobody reading it.
    from channels.layers import get_channel_layer
    from django.db import OperationalError

    from streaming import selectors

    def database_down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "event_latest_id", database_down)

    async def scenario():
        hub = StreamHub()
        with pytest.raises(OperationalError):
            await hub.register(StreamClient())
        layer = get_channel_layer()
        return hub.running, hub.channel, dict(layer.channels), dict(layer.groups), len(hub.clients)

    running, channel, channels, groups, clients = asyncio.run(scenario())
    assert (running, channel, channels, groups, clients) == (False, None, {}, {}, 0)
