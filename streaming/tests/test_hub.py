"""The hub in-process: per-stream queue, filters, garbage-collection hand-over."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from django.test import override_settings

from streaming.hub import ErrorEntry, EventFrames, SalesEntry, StreamClient, StreamHub

EVENT = {
    "id": 7,
    "timestamp": "2026-11-24T11:40:00+00:00",
    "date": "2026-11-24",
    "source": "generator",
    "kind": "generated",
    "rows": [
        {"store": "1", "item": "1", "quantity": 2},
        {"store": "CA_2", "item": "1", "quantity": 3},
        {"store": "CA_2", "item": "4", "quantity": 5},
    ],
    "total": 10,
}


def test_a_stream_that_falls_behind_is_told_to_reconnect_instead_of_growing():
    async def scenario():
        with override_settings(STREAMING_CLIENT_QUEUE_SIZE=4):
            client = StreamClient()
        for _ in range(50):
            client.offer(SalesEntry(EventFrames(EVENT)))
        return [client.queue.get_nowait() for _ in range(client.queue.qsize())]

    entries = asyncio.run(scenario())
    assert len(entries) <= 4
    assert isinstance(entries[0], ErrorEntry) and "Last-Event-ID" in entries[0].message


def test_streams_without_filters_get_summaries_and_filtered_ones_their_rows():
    frames = EventFrames(EVENT)
    everything = StreamClient()
    summary = {key: value for key, value in EVENT.items() if key != "rows"}
    summary |= {"row_count": 3, "stores": [["1", 2], ["CA_2", 8]], "items": [["1", 5], ["4", 5]]}
    assert _data(everything.sales_frame(frames)) == summary
    # Serialised once, whichever stream asks.
    assert StreamClient().sales_frame(frames) is everything.sales_frame(frames)
    store_two = StreamClient(stores=("CA_2",))
    frame = store_two.sales_frame(frames).decode()
    assert frame.startswith("event: sales\nid: 7\ndata: ")
    assert _data(frame.encode()) == {**summary, "rows": [EVENT["rows"][1], EVENT["rows"][2]]}
    assert _data(StreamClient(stores=("CA_2",), items=("4",)).sales_frame(frames))["rows"] == [EVENT["rows"][2]]
    assert StreamClient(items=("9",)).sales_frame(frames) is None


def test_an_empty_batch_is_sent_to_nobody():
    empty = EventFrames({**EVENT, "rows": [], "total": 0})
    assert StreamClient().sales_frame(empty) is None
    assert StreamClient(stores=(1,)).sales_frame(empty) is None


def _data(frame: bytes) -> dict:
    return json.loads(frame.decode().split("data: ", 1)[1])


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
