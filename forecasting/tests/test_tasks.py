"""The nightly schedule and the Celery fan-out, run by a real worker."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from forecasting.models import ForecastPoint, ForecastRun
from forecasting.tests.conftest import history_load


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
    run_id = forecast_refit_all.delay(days=7).get(timeout=60)
    deadline = time.monotonic() + 120
    run = ForecastRun.objects.get(pk=run_id)
    while run.status == ForecastRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        run.refresh_from_db()
    assert run.status == ForecastRun.Status.COMPLETE, (run.error, celery_worker_process.log()[-3000:])
    assert ForecastPoint.objects.filter(series__run=run).count() == 12 * 7
    assert set(run.summary) == {"total", "store", "item", "store_item"}
