"""Periodic work, declared once here and installed into django-celery-beat's
database scheduler by `manage.py install_schedules` (run by `manage.py bootstrap`,
which `make run` and the compose `setup` service call, and by the tests).

Each entry: name -> (task path, schedule). A schedule is either
{"every_seconds": N} or {"crontab": {"minute": .., "hour": ..}} in TIME_ZONE.
"""

from __future__ import annotations

from django.conf import settings


def periodic_schedules() -> dict[str, dict]:
    return {
        "streaming-tick": {
            "task": "streaming.tasks.tick_generate",
            "every_seconds": settings.STREAMING_INTERVAL_SECONDS,
        },
        "forecasting-nightly-refit": {
            "task": "forecasting.tasks.forecast_refit_all",
            "crontab": {"minute": "0", "hour": "2"},
        },
        "streaming-nightly-profile": {
            "task": "streaming.tasks.profile_refresh",
            "crontab": {"minute": "30", "hour": "1"},
        },
    }
