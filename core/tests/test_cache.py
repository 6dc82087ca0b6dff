"""The Redis cache keeps its connections for the process: Django builds a cache object per async
context, so under Daphne one per request, and each used to open a connection of its own."""

from __future__ import annotations

import threading

from django.conf import settings

from core.cache import ProcessPoolRedisCache


def _cache_object() -> ProcessPoolRedisCache:
    config = settings.CACHES["default"]
    return ProcessPoolRedisCache(config["LOCATION"], {k: v for k, v in config.items() if k != "LOCATION"})


def test_every_cache_object_of_the_process_uses_one_connection_pool():
    first, second = _cache_object(), _cache_object()
    first.set("pool-probe", 1, 10)
    assert second.get("pool-probe") == 1
    first_pool = first._cache.get_client(write=True).connection_pool
    assert second._cache.get_client(write=False).connection_pool is first_pool
    # Earlier tests of this process may have used the pool from many threads at once (it keeps those connections).
    opened_before = len(first_pool._available_connections) + len(first_pool._in_use_connections)

    # What a request thread under Daphne does: a cache object of its own, the same pool.
    pools = []
    thread = threading.Thread(target=lambda: pools.append(_cache_object()._cache.get_client().connection_pool))
    thread.start()
    thread.join()
    assert pools == [first_pool]
    # The pool reuses its connection instead of opening one per cache object.
    assert len(first_pool._available_connections) + len(first_pool._in_use_connections) <= max(2, opened_before)
    second.delete("pool-probe")
