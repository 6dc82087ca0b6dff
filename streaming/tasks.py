"""Periodic work of the live stream, and its schedules (installed by core.services.schedules_install)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core.queueing import task_enqueue_or_warn
from core.schedules import Crontab, Schedule
from streaming import services


# No retry: the next tick (one interval later) catches up whatever this one missed today,
# and each interval only once.
@shared_task(name="streaming.tasks.tick_generate", ignore_result=True)
def tick_generate() -> list[int]:
    return services.tick_generate()


@shared_task(
    name="streaming.tasks.profile_refresh",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=3,
)
def profile_refresh() -> int:
    """Refit the generator's profiles (after each load and nightly) and prune the event log."""
    fitted = services.profile_fit()
    services.events_prune(older_than_days=settings.STREAMING_EVENT_RETENTION_DAYS)
    return fitted


def profile_refresh_after_load(**_signal) -> None:
    """Receiver of sales.signals.history_loaded: the profiles follow the new history."""
    task_enqueue_or_warn(profile_refresh)


def periodic_schedules() -> dict[str, Schedule]:
    """The tick every STREAMING_INTERVAL_SECONDS; the profiles refitted nightly, before the forecasts' refit."""
    return {
        "streaming-tick": Schedule(task=tick_generate.name, every_seconds=settings.STREAMING_INTERVAL_SECONDS),
        "streaming-nightly-profile": Schedule(task=profile_refresh.name, crontab=Crontab(minute="30", hour="1")),
    }
