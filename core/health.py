"""Health checks: each app registers its own (in its AppConfig.ready), GET /health runs them all.

A check is a function taking no arguments and returning {"status": "ok" | "down" |
"stale" | "empty", ...details}. It is registered in HEALTH_CHECKS (a core.registry.Registry)
under a name, as the function or as its dotted path (imported when /health runs, so a check
that cannot even be imported is reported as down rather than breaking start-up).

The answer says "up" or "down" per component, and overall (see COMPONENT_STATE for how a
check's status maps); the checks' own answers are the details, which only staff see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from core.registry import Registry

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, Any]]

# name -> check, in registration order (INSTALLED_APPS order).
HEALTH_CHECKS: Registry[HealthCheck] = Registry("health check")

# A check's status -> what the component is. "empty" (no data yet: a fresh install before the first
# load, tick or forecast run) is up: the component works, and a probe that failed here would keep a new
# installation out of service until it had data. "stale" (the stream has not ticked for three intervals,
# or a nightly refit was missed) is down: the process behind it (worker, beat) has stopped doing its job,
# which is what a monitor must page about, and /health already answered 503 for it. Any other
# status (a check's bug) counts as down.
COMPONENT_STATE = {"ok": "up", "empty": "up", "stale": "down", "down": "down"}


# How long an anonymous caller's /health answer is reused (seconds).
PUBLIC_REPORT_SECONDS = 5.0
_public_report: tuple[float, bool, dict[str, Any]] | None = None


def health_check_register(name: str, check: HealthCheck | str) -> None:
    """Make GET /health run `check` under `name` (registering a name again replaces its check)."""
    global _public_report
    HEALTH_CHECKS.register(name, check)
    _public_report = None


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


def _health_check_run(name: str) -> dict[str, Any]:
    try:
        return dict(HEALTH_CHECKS.resolve(name)())
    except Exception as exc:
        logger.warning("health_check_failed check=%s error=%r", name, str(exc))
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}".strip()}


def health_report_public() -> tuple[bool, dict[str, Any]]:
    """`health_report` without the details, run at most every PUBLIC_REPORT_SECONDS per process:
    a flood of anonymous probes costs no more than one."""
    global _public_report
    cached = _public_report
    if cached is not None and time.monotonic() - cached[0] < PUBLIC_REPORT_SECONDS:
        return cached[1], cached[2]
    healthy, report = health_report()
    del report["details"]
    _public_report = (time.monotonic(), healthy, report)
    return healthy, report


def health_report() -> tuple[bool, dict[str, Any]]:
    """Run every registered check. Returns (healthy, report):

    {"status": "up" | "down", "checks": {name: "up" | "down"}, "details": {name: the check's answer}}

    healthy (and "up") when every component is up. A check that raises is down, its details
    holding the error message (never a traceback)."""
    details = {name: _health_check_run(name) for name in HEALTH_CHECKS}
    components = {name: COMPONENT_STATE.get(detail.get("status", ""), "down") for name, detail in details.items()}
    healthy = all(state == "up" for state in components.values())
    return healthy, {"status": "up" if healthy else "down", "checks": components, "details": details}
