"""The stream across a Redis restart (a throwaway redis-server, never the machine's)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from core.devstack import RedisServer
from core.testing import DaphneProcess
from streaming import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def throwaway_redis(tmp_path):
    server = RedisServer(directory=tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_the_stream_survives_a_redis_restart_without_losing_a_batch(small_history, throwaway_redis, sse, tmp_path):
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [throwaway_redis.url], "prefix": "asgi.db0."},
        }
    }
    daphne = DaphneProcess(env={"REDIS_URL": throwaway_redis.url, "STREAMING_HEARTBEAT_SECONDS": "1"}, log_dir=tmp_path)
    daphne.start()
    try:
        with override_settings(CHANNEL_LAYERS=layers, REDIS_URL=throwaway_redis.url):
            url = f"{daphne.url}/api/stream"
            listener = sse(url)
            listener.next(event="metrics")
            before = services.sales_ingest(rows=[(1, 1, 1)]).id
            assert listener.next(event="sales").id == str(before)

            throwaway_redis.stop()
            # The client is told, and the stream ends so that it reconnects.
            error = listener.next(event="error", timeout=10)
            message = json.loads(error.data)["error"]
            assert "message broker" in message
            # What failed, not how: no address of the server, no exception text (the log has them).
            assert throwaway_redis.url.rsplit(":", 1)[-1] not in message and "Error" not in message
            assert listener.next(timeout=5) is None
            # Written while Redis is away: in the log, not published.
            during = services.sales_ingest(rows=[(2, 2, 2)]).id

            # Daphne is still up, and a reconnect during the outage still gets the log, then the error.
            assert daphne.process.poll() is None
            retry = sse(url, headers={"Last-Event-ID": str(before)})
            assert [e["id"] for e in retry.sales(1)] == [during]
            retry.next(event="error", timeout=10)

            throwaway_redis.start()
            resumed = sse(url, headers={"Last-Event-ID": str(during)})
            resumed.next(event="metrics")
            after = services.sales_ingest(rows=[(1, 3, 3)]).id
            assert [e["id"] for e in resumed.sales(1)] == [after]
            assert not [i for i in resumed.drain(seconds=2.5) if i.event in ("sales", "error")]
            assert daphne.process.poll() is None
    finally:
        daphne.stop()
