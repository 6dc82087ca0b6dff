"""GET /health: 200 when the database and Redis answer, 503 naming what is down, never a traceback."""

from __future__ import annotations

import socket

import pytest
from django.test import Client


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SALES_CHECKS = ["sales.selectors.database_health", "sales.selectors.redis_health"]


@pytest.fixture(autouse=True)
def _only_the_sales_checks(settings):
    # Other apps append their own checks; these tests are about the mechanism and
    # the sales checks, whatever state the other apps' data is in.
    assert set(SALES_CHECKS) <= set(settings.HEALTH_CHECKS)
    settings.HEALTH_CHECKS = list(SALES_CHECKS)


def _client() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.mark.django_db
def test_health_is_200_when_database_and_redis_answer():
    response = _client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert _client().get("/health/").status_code == 200


@pytest.mark.django_db
def test_health_is_503_naming_redis_when_redis_is_unreachable(settings, closed_port):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = _client().get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "down"
    assert "Connection" in body["checks"]["redis"]["error"]
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_health_is_503_when_redis_accepts_but_never_answers(settings):
    # A listener that accepts connections and says nothing: the check must time out, not hang.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        response = _client().get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"


def ok_health():
    return {"status": "ok", "seen": 1}


def stale_health():
    return {"status": "stale", "age_seconds": 999}


def empty_health():
    return {"status": "empty"}


def broken_health():
    raise RuntimeError("the check itself failed")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "code", "status"),
    [
        (["ok_health", "empty_health"], 200, "ok"),
        (["stale_health"], 503, "stale"),
        (["broken_health", "stale_health"], 503, "down"),
    ],
)
def test_health_runs_every_configured_check(settings, extra, code, status):
    settings.HEALTH_CHECKS = [*settings.HEALTH_CHECKS, *(f"{__name__}.{name}" for name in extra)]
    response = _client().get("/health")
    assert response.status_code == code
    body = response.json()
    assert body["status"] == status
    assert set(body["checks"]) == {"database", "redis", *(name.removesuffix("_health") for name in extra)}
    if "broken_health" in extra:
        assert body["checks"]["broken"] == {"status": "down", "error": "RuntimeError: the check itself failed"}
    if "ok_health" in extra:
        assert body["checks"]["ok"] == {"status": "ok", "seen": 1}


@pytest.mark.django_db
def test_health_is_503_when_a_check_cannot_even_be_imported(settings):
    settings.HEALTH_CHECKS = [*settings.HEALTH_CHECKS, "nowhere.module.gone_health"]
    response = _client().get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["gone"]["status"] == "down"
