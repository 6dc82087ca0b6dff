"""Fixtures shared by every app's tests. The suite runs against real PostgreSQL
and Redis (DATABASE_URL / REDIS_URL, or the embedded ones `make test` starts)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    # Anonymous throttling counts in the cache; tests must not throttle each other.
    cache.clear()
    yield


@pytest.fixture
def daphne_server(django_db_setup, tmp_path):
    """A real Daphne on a free port serving the project against the test database.

    Function-scoped so each test gets a fresh process (tests may stop/restart it:
    `daphne_server.stop()` / `.start()` keep the same port)."""
    from config.testing import DaphneProcess

    server = DaphneProcess(log_dir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_worker_process(django_db_setup, tmp_path):
    """A real Celery worker process consuming this test run's broker and database."""
    from config.testing import CeleryWorkerProcess

    worker = CeleryWorkerProcess(log_dir=tmp_path)
    worker.start()
    yield worker
    worker.stop()
