"""GET /api/stream served by a real Daphne, read by a real SSE client (httpx-sse)."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from sales.models import Sale
from streaming import selectors, services
from streaming.models import SalesEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GROUP_CHANNEL = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] + "__group__" + services.STREAM_GROUP


def ingest(rows) -> int:
    return services.sales_ingest(rows=rows).id


def unpublished(rows) -> int:
    """An event that is in the log but whose publish got lost (what a Redis blip does)."""
    total = sum(q for _, _, q in rows)
    return SalesEvent.objects.create(
        timestamp=timezone.now(), date=timezone.localdate(), source="ingest", rows=[list(r) for r in rows], total=total
    ).id


def status(server) -> dict:
    return server.get("/api/stream/status", timeout=5).json()


def wait_for(predicate, *, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def test_a_tick_reaches_a_connected_client(small_history, stream_server, sse):
    listener = sse(f"{stream_server.url}/api/stream")
    response = listener.response
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    first = listener.next()
    assert first.retry == settings.STREAMING_RETRY_MS
    hello = listener.next(event="metrics")
    assert json.loads(hello.data)["last_event_id"] == 0

    with override_settings(STREAMING_INTERVAL_SECONDS=3600):
        *earlier, event_id = services.tick_generate(seed=4)
    # The first tick catches up the day's earlier hours first (none in its first hour): one batch, then the hour.
    caught_up = 0
    for catch_up_id in earlier:
        batch = json.loads(listener.next(event="sales").data)
        assert (batch["id"], batch["kind"]) == (catch_up_id, "catch-up")
        caught_up += batch["total"]
        listener.next(event="metrics")
    sales = listener.next(event="sales")
    assert sales.id == str(event_id)
    payload = json.loads(sales.data)
    assert payload == selectors.sales_event_summary(SalesEvent.objects.get(id=event_id).payload())
    assert payload["source"] == "generator" and payload["kind"] == "generated" and payload["total"] > 0
    assert "rows" not in payload and sum(units for _, units in payload["stores"]) == payload["total"]
    metrics = listener.next(event="metrics")
    assert metrics.id == str(event_id)
    # In the first hour of the day the hour-long interval that just ended is yesterday's.
    today_total = Sale.objects.filter(date=timezone.localdate()).aggregate(s=Sum("sales"))["s"] or 0
    assert json.loads(metrics.data) == {
        "date": timezone.localdate().isoformat(),
        "today_total": today_total,
        "total_sales": int(small_history["sales"].sum()) + caught_up + payload["total"],
        "last_event_id": event_id,
    }


def test_ingest_over_http_reaches_the_stream(small_history, stream_server, sse, ingest_token):
    token = ingest_token
    listener = sse(f"{stream_server.url}/api/stream")
    listener.next(event="metrics")
    body = {"rows": [{"store": 2, "item": 3, "quantity": 6}]}
    assert httpx.post(f"{stream_server.url}/api/sales/ingest", json=body, timeout=10).status_code == 401
    response = httpx.post(
        f"{stream_server.url}/api/sales/ingest", json=body, headers={"Authorization": f"Token {token}"}, timeout=10
    )
    assert response.status_code == 201
    received = listener.sales(1)[0]
    assert received == selectors.sales_event_summary(response.json())
    assert received["source"] == "ingest" and received["kind"] == "ingested"
    assert received["stores"] == [["2", 6]] and received["items"] == [["3", 6]] and received["total"] == 6


def test_last_event_id_replays_exactly_the_missed_batches_then_goes_live(small_history, stream_server, sse):
    listener = sse(f"{stream_server.url}/api/stream")
    listener.next(event="metrics")
    ingest([(1, 1, 1)])
    seen = listener.next(event="sales").id  # what EventSource would send back as Last-Event-ID
    listener.close()
    missed = [ingest([(1, 1, k + 2)]) for k in range(5)]

    resumed = sse(f"{stream_server.url}/api/stream", headers={"Last-Event-ID": seen})
    assert [e["id"] for e in resumed.sales(5)] == missed
    assert json.loads(resumed.next(event="metrics").data)["last_event_id"] == missed[-1]
    live = ingest([(2, 2, 9)])
    assert [e["id"] for e in resumed.sales(1)] == [live]
    # Nothing twice: after the live one, only heartbeats and metrics.
    assert not [i for i in resumed.drain(seconds=1.5) if i.event == "sales"]

    # The query parameter works the same (for clients that cannot set headers).
    middle = sse(f"{stream_server.url}/api/stream?last_event_id={missed[2]}")
    assert [e["id"] for e in middle.sales(3)] == [*missed[3:], live]


def test_a_lost_publish_is_filled_from_the_log_in_order(small_history, stream_server, sse):
    listener = sse(f"{stream_server.url}/api/stream")
    listener.next(event="metrics")
    lost = unpublished([(1, 2, 3)])
    after = ingest([(1, 2, 4)])
    # The next event exposes the gap: the lost one comes first, from the log.
    assert [e["id"] for e in listener.sales(2)] == [lost, after]
    # With no later event, the hub's heartbeat check of the log delivers it.
    lone = unpublished([(2, 1, 1)])
    assert [e["id"] for e in listener.sales(1, timeout=5)] == [lone]


def test_heartbeats_arrive(small_history, stream_server, sse):
    listener = sse(f"{stream_server.url}/api/stream", lines=True)
    lines = listener.drain(seconds=3.5)
    assert lines.count(": heartbeat") >= 2, lines


def test_filters_narrow_the_stream(small_history, stream_server, sse):
    listener = sse(f"{stream_server.url}/api/stream?store=2&item=1,3")
    hello = json.loads(listener.next(event="metrics").data)
    assert hello["total_sales"] == int(small_history.query("store == 2 and item in [1, 3]")["sales"].sum())
    ingest([(1, 1, 5)])  # store 1 only: not for this stream
    mixed = ingest([(1, 3, 2), (2, 1, 4), (2, 2, 8), (2, 3, 1)])
    (received,) = listener.sales(1)
    assert received["id"] == mixed
    assert received["rows"] == [{"store": "2", "item": "1", "quantity": 4}, {"store": "2", "item": "3", "quantity": 1}]
    # The summaries and the total are the whole batch's; the rows are this stream's.
    assert received["total"] == 15 and received["row_count"] == 4
    assert received["stores"] == [["1", 2], ["2", 13]] and received["items"] == [["1", 4], ["2", 8], ["3", 3]]
    metrics = json.loads(listener.next(event="metrics").data)
    assert metrics["today_total"] == 5 and metrics["last_event_id"] == mixed
    replay = sse(f"{stream_server.url}/api/stream?store=2&item=1,3&last_event_id=0")
    assert [e["id"] for e in replay.sales(1)] == [mixed]


def test_a_disconnected_client_leaves_nothing_behind(small_history, stream_server, sse):
    client = redis.Redis.from_url(settings.REDIS_URL)
    first = sse(f"{stream_server.url}/api/stream")
    second = sse(f"{stream_server.url}/api/stream?store=1")
    first.next(event="metrics")
    second.next(event="metrics")
    assert status(stream_server)["open_streams"] == 2
    # One subscription per Daphne process, however many streams it serves.
    assert client.pubsub_numsub(GROUP_CHANNEL) == [(GROUP_CHANNEL.encode(), 1)]
    first.close()
    wait_for(lambda: status(stream_server)["open_streams"] == 1, what="first stream closed", timeout=5)
    second.close()
    final = wait_for(lambda: (s := status(stream_server))["open_streams"] == 0 and s, what="all closed", timeout=5)
    assert final == {**final, "clients": 0, "hub_running": False}
    assert client.pubsub_numsub(GROUP_CHANNEL) == [(GROUP_CHANNEL.encode(), 0)]
    # And the process still serves new streams.
    again = sse(f"{stream_server.url}/api/stream")
    again.next(event="metrics")
    event = ingest([(1, 1, 1)])
    assert [e["id"] for e in again.sales(1)] == [event]


def test_several_daphne_processes_all_deliver_every_event(small_history, stream_server, sse, tmp_path):
    from core.testing import DaphneProcess

    other = DaphneProcess(env={"STREAMING_HEARTBEAT_SECONDS": "1"}, log_dir=tmp_path)
    other.start()
    try:
        listeners = [sse(f"{server.url}/api/stream") for server in (stream_server, other) for _ in range(2)]
        for listener in listeners:
            listener.next(event="metrics")
        events = [ingest([(1, 1, k + 1)]) for k in range(3)]
        for listener in listeners:
            assert [e["id"] for e in listener.sales(3)] == events
    finally:
        other.stop()


def test_an_id_from_a_reset_log_starts_the_client_from_now(small_history, stream_server, sse):
    ingest([(1, 1, 1)])
    listener = sse(f"{stream_server.url}/api/stream", headers={"Last-Event-ID": "999999"})
    listener.next(event="metrics")
    live = ingest([(1, 1, 2)])
    assert [e["id"] for e in listener.sales(1)] == [live]


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def _raw_stream(server) -> socket.socket:
    """A bare SSE client (with the server's viewer token): connects and reads until the first `metrics`
    event (the stream is live)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    credentials = "".join(f"{name}: {value}\r\n" for name, value in server.headers.items())
    request = f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{credentials}\r\n"
    sock.sendall(request.encode())
    received = b""
    while b"event: metrics" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"stream closed early: {received[:300]!r}"
        received += chunk
    return sock


def test_open_streams_hold_no_thread_each(small_history, stream_server):
    pid = stream_server.process.pid
    sockets = [_raw_stream(stream_server)]
    try:
        before = _threads(pid)
        sockets += [_raw_stream(stream_server) for _ in range(60)]
        assert status(stream_server)["open_streams"] == 61
        # Django's handler would hold one thread per open response (61 more); only bounded pools may grow.
        assert _threads(pid) <= before + 8
    finally:
        for sock in sockets:
            sock.close()
    wait_for(lambda: status(stream_server)["open_streams"] == 0, what="all closed", timeout=10)


def test_the_stream_path_checks_the_host_like_every_other_path(small_history, stream_server):
    response = httpx.get(f"{stream_server.url}/api/stream", headers={"Host": "attacker.example"}, timeout=5)
    assert response.status_code == 400
    assert status(stream_server)["open_streams"] == 0


def test_the_stream_and_its_status_need_a_reader(small_history, stream_server, ingest_token, sse):
    for path in ("/api/stream", "/api/stream/status"):
        anonymous = httpx.get(f"{stream_server.url}{path}", timeout=5)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/json"
        assert anonymous.headers["www-authenticate"] == "Token"
        assert anonymous.json() == {"error": "Authentication credentials were not provided."}
        bad = stream_server.get(path, headers={"Authorization": "Token not-a-token"}, timeout=5)
        assert (bad.status_code, bad.json()) == (401, {"error": "Invalid token."})
        # An ingest token writes sales; it does not read them.
        writer = stream_server.get(path, headers={"Authorization": f"Token {ingest_token}"}, timeout=5)
        assert writer.status_code == 403
        assert "viewer group" in writer.json()["error"]
    assert status(stream_server)["open_streams"] == 0
    # A viewer's token opens it (sse() sends one).
    assert sse(f"{stream_server.url}/api/stream").next(event="metrics") is not None


def test_a_viewers_session_opens_the_stream(small_history, stream_server, viewer_session, sse):
    from django.conf import settings as django_settings

    cookie = f"{django_settings.SESSION_COOKIE_NAME}={viewer_session}"
    listener = sse(f"{stream_server.url}/api/stream", anonymous=True, headers={"Cookie": cookie})
    assert listener.response.status_code == 200
    assert listener.next(event="metrics") is not None


def test_public_read_opens_the_stream_to_anyone(small_history, tmp_path, sse):
    from core.testing import DaphneProcess

    server = DaphneProcess(env={"PUBLIC_READ": "true"}, log_dir=tmp_path)
    server.start()
    try:
        assert httpx.get(f"{server.url}/api/stream/status", timeout=5).status_code == 200
        assert sse(f"{server.url}/api/stream", anonymous=True).next(event="metrics") is not None
    finally:
        server.stop()


@pytest.fixture
def replay_server(django_db_setup, viewer_token, tmp_path):
    """Daphne that replays at most 3 missed events."""
    from core.testing import DaphneProcess

    server = DaphneProcess(
        env={"STREAMING_HEARTBEAT_SECONDS": "1", "STREAMING_REPLAY_MAX_EVENTS": "3"},
        log_dir=tmp_path,
        headers={"Authorization": f"Token {viewer_token}"},
    )
    server.start()
    yield server
    server.stop()


def test_a_replay_from_event_0_is_bounded_and_the_client_is_told_to_reload(small_history, replay_server, sse):
    ids = [ingest([(1, 1, k + 1)]) for k in range(5)]
    everything = sse(f"{replay_server.url}/api/stream?last_event_id=0")
    first = everything.next()
    while first.event not in ("reload", "sales", "metrics"):  # past the retry line
        first = everything.next()
    assert first.event == "reload"
    assert first.id == str(ids[-1])
    assert json.loads(first.data)["last_event_id"] == ids[-1]
    assert "reload" in json.loads(first.data)["reason"]
    assert json.loads(everything.next(event="metrics").data)["last_event_id"] == ids[-1]
    assert not [i for i in everything.drain(seconds=1.5) if i.event == "sales"]
    # Within the bound, the missed ones are replayed as before.
    recent = sse(f"{replay_server.url}/api/stream?last_event_id={ids[1]}")
    assert [e["id"] for e in recent.sales(3)] == ids[2:]


def test_a_replay_of_events_older_than_the_bound_is_refused(small_history, replay_server, sse):
    old = SalesEvent.objects.create(
        timestamp=timezone.now() - timedelta(hours=settings.STREAMING_REPLAY_MAX_HOURS + 1),
        date=timezone.localdate(),
        source="ingest",
        rows=[[1, 1, 1]],
        total=1,
    ).id
    newer = ingest([(1, 1, 2)])
    listener = sse(f"{replay_server.url}/api/stream?last_event_id={old - 1}")
    assert json.loads(listener.next(event="reload").data)["last_event_id"] == newer
    assert not [i for i in listener.drain(seconds=1.5) if i.event == "sales"]
