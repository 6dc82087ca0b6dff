"""What the nightly refit fits and when it runs, at any hour of any day (the clock matrix:
core.testing.CLOCK_MATRIX)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.services import schedules_install
from core.testing import history_load
from forecasting.selectors import forecast_lead_days, history_range

pytestmark = [pytest.mark.clock_matrix, pytest.mark.django_db]

STEP = timedelta(minutes=5)


def test_the_refit_fits_up_to_yesterday_and_publishes_from_tomorrow(tmp_path, clock_instant):
    summary = history_load(tmp_path, stores=1, items=1, start=date(2017, 1, 1), end=date(2017, 12, 31)).summary
    yesterday = timezone.localdate() - timedelta(days=1)
    assert history_range() == (summary.date_from, yesterday)
    assert forecast_lead_days(end=yesterday) == 1


def test_the_nightly_jobs_run_once_a_local_night_profile_first(clock_instant, time_machine):
    """django-celery-beat's schedules as installed, asked every 5 minutes for three days from the instant:
    each nightly job is due once per local day, at its hour (or, on the night a daylight-saving change
    skips it, at the first moment after), and the profile refresh comes before the refit."""
    schedules_install()
    jobs = {"profile": "streaming-nightly-profile", "refit": "forecasting-nightly-refit"}
    schedules = {job: PeriodicTask.objects.get(name=name).schedule for job, name in jobs.items()}
    start = timezone.now().astimezone(UTC)
    last_run = dict.fromkeys(jobs, start)
    runs: dict[str, list] = {job: [] for job in jobs}
    moment = start
    while moment < start + timedelta(days=3):
        moment += STEP
        time_machine.move_to(moment, tick=False)
        for job, schedule in schedules.items():
            if schedule.is_due(last_run[job]).is_due:
                last_run[job] = moment
                runs[job].append(timezone.localtime(moment))
    first_day = clock_instant.local.date()
    whole_days = {first_day + timedelta(days=1), first_day + timedelta(days=2)}
    for job, hour in (("profile", (1, 30)), ("refit", (2, 0))):
        days = [run.date() for run in runs[job]]
        # Never twice a night (a repeated hour included), and every whole day in the window once.
        in_window = whole_days | {first_day, first_day + timedelta(days=3)}
        assert len(days) == len(set(days)) and whole_days <= set(days) <= in_window, (job, runs[job])
        # At its wall-clock time; where a change skips that hour, within the hour after it.
        for run in runs[job]:
            planned = run.replace(hour=hour[0], minute=hour[1])
            assert timedelta(0) <= (run.replace(tzinfo=None) - planned.replace(tzinfo=None)) <= timedelta(hours=1), run
    refits = {run.date(): run for run in runs["refit"]}
    assert all(profile < refits[profile.date()] for profile in runs["profile"] if profile.date() in refits)
