"""GET /health: 200 when the database and Redis answer, 503 naming what is down, never a traceback."""

from __future__ import annotations

import socket

import pytest

from core import health
from core.registry import Registry
from core.testing import free_port

CORE_CHECKS = {"database": "core.health.database_health", "redis": "core.health.redis_health"}


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    return free_port()


@pytest.fixture(autouse=True)
def checks(monkeypatch) -> Registry:
    # Other apps register their own checks; these tests are about the mechanism and
    # the core checks, whatever state the other apps' data is in.
    assert set(CORE_CHECKS.items()) <= set(health.HEALTH_CHECKS.entries().items())
    registry: Registry[health.HealthCheck] = Registry("health check")
    for name, check in CORE_CHECKS.items():
        registry.register(name, check)
    monkeypatch.setattr(health, "HEALTH_CHECKS", registry)
    monkeypatch.setattr(health, "_public_report", None)
    return registry


@pytest.mark.django_db
def test_health_is_200_when_database_and_redis_answer(staff_client):
    response = staff_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert body["checks"] == {"database": "up", "redis": "up"}
    assert body["details"]["database"]["status"] == "ok"
    assert body["details"]["redis"]["status"] == "ok"
    assert staff_client.get("/health/").status_code == 200


@pytest.mark.django_db
def test_health_is_503_naming_redis_when_redis_is_unreachable(staff_client, settings, closed_port):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = staff_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"] == {"database": "up", "redis": "down"}
    assert "Connection" in body["details"]["redis"]["error"]
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_health_is_503_when_redis_accepts_but_never_answers(staff_client, settings):
    # A listener that accepts connections and says nothing: the check must time out, not hang.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        response = staff_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "down"


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
        (["ok_health", "empty_health"], 200, "up"),
        (["stale_health"], 503, "down"),
        (["broken_health", "stale_health"], 503, "down"),
    ],
)
def test_health_runs_every_registered_check(staff_client, checks, extra, code, status):
    for name in extra:
        health.health_check_register(name.removesuffix("_health"), f"{__name__}.{name}")
    response = staff_client.get("/health")
    assert response.status_code == code
    body = response.json()
    assert body["status"] == status
    assert set(body["checks"]) == {"database", "redis", *(name.removesuffix("_health") for name in extra)}
    assert set(body["details"]) == set(body["checks"])
    if "broken_health" in extra:
        assert body["checks"]["broken"] == "down"
        assert body["details"]["broken"] == {"status": "down", "error": "RuntimeError: the check itself failed"}
    if "ok_health" in extra:
        # No data yet is still a working component.
        assert body["checks"]["ok"] == body["checks"]["empty"] == "up"
        assert body["details"]["ok"] == {"status": "ok", "seen": 1}
    if "stale_health" in extra:
        assert body["checks"]["stale"] == "down"
        assert body["details"]["stale"] == {"status": "stale", "age_seconds": 999}


@pytest.mark.django_db
def test_health_is_503_when_a_check_cannot_even_be_imported(staff_client, checks):
    health.health_check_register("gone", "nowhere.module.gone_health")
    response = staff_client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["gone"] == "down"


@pytest.mark.django_db
def test_anyone_sees_only_up_or_down_per_component(anonymous_client, client, staff_client, checks):
    # Latencies, errors, ages and even "stale" or "empty" describe the installation: staff only.
    # Up or down is public.
    for visitor in (anonymous_client, client):
        response = visitor.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "up", "checks": {"database": "up", "redis": "up"}}
    staff = staff_client.get("/health").json()
    assert staff["checks"] == {"database": "up", "redis": "up"}
    assert "latency_ms" in staff["details"]["database"]

    health.health_check_register("stale", f"{__name__}.stale_health")
    for visitor in (anonymous_client, client):
        response = visitor.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "down", "checks": {"database": "up", "redis": "up", "stale": "down"}}


RUNS: list[int] = []


def counted_health() -> dict:
    RUNS.append(1)
    return {"status": "ok"}


@pytest.mark.django_db
def test_anonymous_callers_share_one_run_of_the_checks_staff_get_a_fresh_one(anonymous_client, staff_client):
    health.health_check_register("counted", f"{__name__}.counted_health")
    RUNS.clear()
    for _ in range(5):
        assert anonymous_client.get("/health").json()["checks"]["counted"] == "up"
    assert len(RUNS) == 1
    staff_client.get("/health")
    staff_client.get("/health")
    assert len(RUNS) == 3
