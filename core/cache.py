"""The Redis cache (throttle counters) with one connection pool per process, and JSON instead of pickle.

Django keeps a cache object per async context, so under Daphne every request builds a new
RedisCache, a new redis-py pool and a new TCP connection to Redis (with its HELLO, CLIENT SETINFO
and health-check round trips): several round trips to Redis on every request, for a counter
read. The pools here are kept per server URL for the life of the process and shared by every
cache object; redis-py's pools are thread-safe and start afresh in a forked child (Celery's
prefork workers).

Django's Redis cache pickles what it stores, so whoever can write to Redis (it shares the database
with Celery and the stream) could make a web process run code by planting a pickle. Here values are
JSON (numbers stay raw, so INCR counts); what is not JSON reads as a miss, logged."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)
_MISSING = object()


class JSONSerializer:
    """What the cache stores: int as Redis integers (INCR works on them), anything else as JSON."""

    def dumps(self, obj: Any) -> Any:
        if type(obj) is int:
            return obj
        return json.dumps(obj, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        try:
            return int(data)
        except ValueError:
            return json.loads(data)  # ValueError (undecodable bytes too) for anything not ours


class ProcessPoolRedisCacheClient(RedisCacheClient):
    _process_pools: ClassVar[dict[str, Any]] = {}

    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **{**options, "serializer": JSONSerializer})

    def get(self, key, default):
        try:
            return super().get(key, default)
        except ValueError:
            logger.warning("cache_value_refused key=%s reason=not JSON", key)
            return default

    def get_many(self, keys):
        found = {}
        for key in keys:
            value = self.get(key, _MISSING)
            if value is not _MISSING:
                found[key] = value
        return found

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
