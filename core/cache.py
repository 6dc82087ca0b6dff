"""The Redis cache (throttle counters) with one connection pool per process.

Django keeps a cache object per async context, so under Daphne every request builds a new
RedisCache, a new redis-py pool and a new TCP connection to Redis (with its HELLO, CLIENT SETINFO
and health-check round trips): several round trips to Redis on every request, for a counter
read. The pools here are kept per server URL for the life of the process and shared by every
cache object; redis-py's pools are thread-safe and start afresh in a forked child (Celery's
prefork workers)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ProcessPoolRedisCacheClient(RedisCacheClient):
    _process_pools: ClassVar[dict[str, Any]] = {}

    def _get_connection_pool(self, write: bool):
        url = self._servers[self._get_connection_pool_index(write)]
        pool = self._process_pools.get(url)
        if pool is None:
            # Two threads may both build one: the second setdefault keeps the first, the other is dropped unused.
            pool = self._process_pools.setdefault(url, self._pool_class.from_url(url, **self._pool_options))
        return pool


class ProcessPoolRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache whose connections outlive the request."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ProcessPoolRedisCacheClient
