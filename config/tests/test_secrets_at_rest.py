"""Secrets at rest: no API token in a database dump; the cache does not unpickle what Redis hands it."""

from __future__ import annotations

import subprocess

import pytest
from django.core.cache import cache

from core import testing
from core.services import access_token_create, user_in_group_ensure

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_is_not_in_a_database_dump():
    token = access_token_create(user=user_in_group_ensure(username="script", group="viewer"))
    dump = subprocess.run(
        ["pg_dump", "--data-only", testing.test_database_url()], capture_output=True, text=True, check=True
    ).stdout
    assert "core_apitoken" in dump  # the dump does hold the tokens' table
    assert token not in dump


def test_the_cache_stores_json_and_refuses_a_pickle_planted_in_redis():
    import pickle

    cache.set("sec-test", {"a": [1, 2]}, 30)
    assert cache.get("sec-test") == {"a": [1, 2]}
    client = cache._cache.get_client(write=True)
    raw_key = cache.make_and_validate_key("sec-test")
    assert client.get(raw_key) == b'{"a":[1,2]}'

    class Planted:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled')",))

    client.set(raw_key, pickle.dumps(Planted()))
    assert cache.get("sec-test", "refused") == "refused"
    cache.set("sec-count", 0, 30)
    assert cache.incr("sec-count") == 1  # counters (the throttles) still count in Redis
