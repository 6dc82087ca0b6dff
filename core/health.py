"""Health checks: each app registers its own (in its AppConfig.ready), GET /health runs them all.

A check is a function taking no arguments and returning {"status": "ok" | "down" |
"stale" | "empty", ...details}. It is registered under a name, as the function or as
its dotted path (imported when /health runs, so a check that cannot even be imported
is reported as down rather than breaking start-up).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, Any]]

# name -> check, in registration order (INSTALLED_APPS order).
HEALTH_CHECKS: dict[str, HealthCheck | str] = {}


def health_check_register(name: str, check: HealthCheck | str) -> None:
    """Make GET /health run `check` under `name` (registering a name again replaces its check)."""
    HEALTH_CHECKS[name] = check


def database_health() -> dict[str, Any]:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def redis_health() -> dict[str, Any]:
    started = time.monotonic()
    # Short timeouts: a dead Redis must make /health answer 503 quickly, not hang.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {"status": "ok", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _health_check_run(name: str, check: HealthCheck | str) -> dict[str, Any]:
    try:
        function = import_string(check) if isinstance(check, str) else check
        return dict(function())
    except Exception as exc:
        logger.warning("health_check_failed check=%s error=%r", name, str(exc))
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}".strip()}


def health_report() -> tuple[bool, dict[str, Any]]:
    """Run every registered check. Returns (healthy, report); a check that raises is
    reported as down with the error message (never a traceback)."""
    checks = {name: _health_check_run(name, check) for name, check in HEALTH_CHECKS.items()}
    statuses = {check.get("status") for check in checks.values()}
    if "down" in statuses:
        overall = "down"
    elif "stale" in statuses:
        overall = "stale"
    else:
        overall = "ok"
    return overall == "ok", {"status": overall, "checks": checks}
