"""Celery tasks of the forecasts. Each takes plain values and calls one service.

`forecast_refit_all` (nightly at 02:00 TIME_ZONE, see `periodic_schedules`, and
after each load_train) fans the refit out as a chord: one `forecast_chunk_fit`
per chunk of series keys, then `forecast_run_finish`, which publishes the run.
Adding worker machines makes the chunks run wider.
"""

from __future__ import annotations

import logging

from celery import chord, shared_task

from core.queueing import task_enqueue_or_warn
from core.schedules import Crontab, Schedule
from forecasting import services

logger = logging.getLogger(__name__)


# While another refit runs, wait for it (a minute at a time, for up to the refit's own timeout)
# rather than drop this one: the nightly run and a load's refit must not cancel each other.
REFIT_RUNNING_RETRY_SECONDS = 60
REFIT_RUNNING_MAX_RETRIES = 60


@shared_task(name="forecasting.tasks.forecast_refit_all", bind=True, max_retries=REFIT_RUNNING_MAX_RETRIES)
def forecast_refit_all(
    self,
    *,
    days: int | None = None,
    store_ids: list[int] | None = None,
    item_ids: list[int] | None = None,
    supersede_running: bool = False,
):
    """Start a run and enqueue its chunks. Returns the run id, or None when there is nothing to
    forecast. After a load (`supersede_running`) a running refit is failed and replaced."""
    try:
        run, chunks = services.forecast_run_start(
            days=days, store_ids=store_ids, item_ids=item_ids, supersede_running=supersede_running
        )
    except services.RefitRunning as error:
        logger.info("forecast refit waits: %s", error)
        raise self.retry(countdown=REFIT_RUNNING_RETRY_SECONDS) from None
    except services.ForecastError as error:
        logger.warning("forecast refit not started: %s", error)
        return None
    forecast_run_enqueue(run_id=run.pk, run_started=run.started_at.isoformat(), chunks=chunks)
    return run.pk


def forecast_run_enqueue(*, run_id: int, run_started: str, chunks: list[list[list]]) -> None:
    """Queue a started run's chunks and its finish. Each task carries the run's start time too, so a task
    left in Redis after the database was recreated (ids start again) cannot touch a fresh run that reuses the id."""
    ids = {"run_id": run_id, "run_started": run_started}
    finish = forecast_run_finish.si(**ids).on_error(forecast_run_failed.si(**ids))
    if chunks:
        chord(forecast_chunk_fit.si(**ids, keys=chunk) for chunk in chunks)(finish)
    else:
        finish.delay()


# A chunk only fails as a whole when the database does (one bad series falls back inside it);
# a retry replaces the chunk's rows, so retrying is safe.
@shared_task(
    name="forecasting.tasks.forecast_chunk_fit",
    autoretry_for=(Exception,),
    retry_backoff=5,
    max_retries=2,
)
def forecast_chunk_fit(*, run_id: int, keys: list[list], run_started: str | None = None) -> int:
    return services.forecast_chunk_fit(run_id=run_id, keys=keys, run_started=run_started)


@shared_task(name="forecasting.tasks.forecast_run_finish", ignore_result=True)
def forecast_run_finish(*, run_id: int, run_started: str | None = None) -> int | None:
    run = services.forecast_run_finish(run_id=run_id, run_started=run_started)
    return run.pk if run else None


@shared_task(name="forecasting.tasks.forecast_run_failed", ignore_result=True)
def forecast_run_failed(*args, run_id: int, run_started: str | None = None) -> None:
    # Called by the chord when a chunk failed for good, so the run does not stay "running".
    services.forecast_run_fail(
        run_id=run_id, run_started=run_started, error="a chunk of series failed; see the worker log"
    )


def forecast_refit_after_load(**_signal) -> None:
    """Receiver of sales.signals.history_loaded. A refit still running on the old history is superseded:
    it would mix old and new data."""
    task_enqueue_or_warn(forecast_refit_all, kwargs={"supersede_running": True})


def periodic_schedules() -> dict[str, Schedule]:
    """The nightly refit (after the streaming profiles' refit at 01:30)."""
    return {"forecasting-nightly-refit": Schedule(task=forecast_refit_all.name, crontab=Crontab(minute="0", hour="2"))}
