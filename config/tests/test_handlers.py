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
