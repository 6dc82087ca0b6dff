"""The nightly schedule and the Celery fan-out, run by a real worker."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from core.testing import history_load
from forecasting.models import ForecastPoint, ForecastRun

# A bound on waiting for the worker, not a speed check: the refit fits several candidates per series, and on a
# busy 2-core machine a small refit takes minutes.
WORKER_WAIT_SECONDS = 420


@pytest.mark.django_db
def test_the_nightly_refit_is_scheduled_at_two(settings):
    call_command("install_schedules")
    task = PeriodicTask.objects.get(task="forecasting.tasks.forecast_refit_all")
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")
    assert str(task.crontab.timezone) == settings.TIME_ZONE


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_refit_as_a_chord_of_chunks(tmp_path, celery_worker_process):
    from forecasting.tasks import forecast_refit_all

    history_load(tmp_path)
    run_id = forecast_refit_all.delay(days=7).get(timeout=WORKER_WAIT_SECONDS)
    deadline = time.monotonic() + WORKER_WAIT_SECONDS
    run = ForecastRun.objects.get(pk=run_id)
    while run.status == ForecastRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        run.refresh_from_db()
    assert run.status == ForecastRun.Status.COMPLETE, (run.error, celery_worker_process.log()[-3000:])
    assert ForecastPoint.objects.filter(series__run=run).count() == 12 * (1 + 7)  # today, then 7 days from tomorrow
    assert set(run.summary) == {"total", "store", "item", "store_item"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stale_tasks_from_a_reset_database_are_dropped_and_a_fresh_run_completes(tmp_path, celery_worker_process):
    """After the database is recreated under the same Redis, queued tasks name runs that are gone, or
    ids that a fresh run now holds. Each logs one warning and does nothing; the fresh run completes."""
    from forecasting import services
    from forecasting.tasks import forecast_chunk_fit, forecast_run_enqueue, forecast_run_finish

    history_load(tmp_path)
    run, chunks = services.forecast_run_start(days=7)
    previous_life = "2020-01-01T00:00:00+00:00"  # the started_at the old database's run with this id had
    # Queued first, so the single worker process takes them before the fresh run's own chunks.
    gone = forecast_chunk_fit.delay(run_id=run.pk + 1000, keys=chunks[0], run_started=previous_life)
    reused = forecast_chunk_fit.delay(run_id=run.pk, keys=chunks[0], run_started=previous_life)
    forecast_run_finish.delay(run_id=run.pk, run_started=previous_life)
    forecast_run_finish.delay(run_id=run.pk + 1000, run_started=previous_life)
    assert gone.get(timeout=WORKER_WAIT_SECONDS) == 0
    assert reused.get(timeout=WORKER_WAIT_SECONDS) == 0
    forecast_run_enqueue(run_id=run.pk, run_started=run.started_at.isoformat(), chunks=chunks)

    deadline = time.monotonic() + WORKER_WAIT_SECONDS
    while run.status == ForecastRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        run.refresh_from_db()
    log = celery_worker_process.log()
    assert run.status == ForecastRun.Status.COMPLETE, (run.error, log[-3000:])
    assert ForecastPoint.objects.filter(series__run=run).count() == 12 * (1 + 7)  # today, then 7 days from tomorrow
    assert log.count("dropped: a stale task") == 4, log[-3000:]
    assert "Traceback" not in log
    assert "ERROR" not in log
