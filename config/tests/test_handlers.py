"""The stream's handler takes async-only middleware: a dual-mode one would bring back a thread per stream."""

from __future__ import annotations

import re

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from config.handlers import AsyncOnlyASGIHandler


def test_a_dual_mode_middleware_is_refused_by_name():
    with pytest.raises(
        ImproperlyConfigured, match=re.escape("django.middleware.common.CommonMiddleware is not async-only")
    ):
        AsyncOnlyASGIHandler(middleware=["django.middleware.common.CommonMiddleware"])


def test_the_configured_stream_chain_is_async_only(settings):
    handler = AsyncOnlyASGIHandler(middleware=settings.STREAM_MIDDLEWARE)
    assert handler._middleware_chain is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_daphne_serves_requests_without_a_new_database_connection_each(daphne_server):
    from django.db import connection

    def backends_started_since(moment) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_start > %s",
                [moment],
            )
            return cursor.fetchone()[0]

    with httpx.Client(base_url=daphne_server.url, timeout=10) as client:
        for _ in range(5):  # the pool opens its connections
            assert client.get("/health").status_code in (200, 503)
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            (moment,) = cursor.fetchone()
        for _ in range(30):
            assert client.get("/health").status_code in (200, 503)
    # One request at a time: the pool lends the same few connections (a thread per request with
    # per-thread connections would have started 30 PostgreSQL backends).
    assert backends_started_since(moment) <= 2


@pytest.mark.django_db(transaction=True)
def test_a_request_crosses_between_the_event_loop_and_its_thread_a_few_times_only(viewer_token, monkeypatch):
    """Django's ASGI chain ran each dual-mode middleware's hooks through sync_to_async and came back
    through async_to_sync at the first sync-only one: about ten hand-overs a request. Ours runs the
    chain, all sync, in one: request_started, the chain with the view, and the response's close."""
    import asgiref.sync
    from channels.testing import HttpCommunicator

    from config.handlers import ThreadReusingASGIHandler

    crossings = {"to thread": 0, "to loop": 0}
    to_thread, to_loop = asgiref.sync.SyncToAsync.__call__, asgiref.sync.AsyncToSync.__call__

    async def counted_to_thread(self, *args, **kwargs):
        crossings["to thread"] += 1
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self, *args, **kwargs):
        crossings["to loop"] += 1
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(asgiref.sync.AsyncToSync, "__call__", counted_to_loop)
    handler = ThreadReusingASGIHandler()
    communicator = HttpCommunicator(
        handler,
        "GET",
        "/api/stores",
        headers=[(b"host", b"localhost"), (b"authorization", f"Token {viewer_token}".encode())],
    )
    response = asgiref.sync.async_to_sync(communicator.get_response)()
    assert response["status"] == 200
    assert crossings["to loop"] == 1  # the test's own async_to_sync, nothing inside the request
    assert crossings["to thread"] <= 3, crossings
