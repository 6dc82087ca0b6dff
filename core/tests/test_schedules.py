"""The periodic schedules: declared by each app, installed into django-celery-beat by one command."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from core.schedules import Crontab, Schedule


@pytest.mark.django_db
def test_install_schedules_installs_every_apps_schedules(settings):
    call_command("install_schedules", stdout=None)
    installed = {task.name: task for task in PeriodicTask.objects.exclude(name="celery.backend_cleanup")}
    assert {name: task.task for name, task in installed.items()} == {
        "streaming-tick": "streaming.tasks.tick_generate",
        "streaming-nightly-profile": "streaming.tasks.profile_refresh",
        "forecasting-nightly-refit": "forecasting.tasks.forecast_refit_all",
        "alerts-no-data": "alerts.tasks.alerts_evaluate_no_data",
        "alerts-outbox": "alerts.tasks.notifications_flush",
        "uploads-expire": "uploads.tasks.upload_files_expire",
    }
    assert installed["streaming-tick"].interval.every == settings.STREAMING_INTERVAL_SECONDS
    profile = installed["streaming-nightly-profile"].crontab
    assert (profile.hour, profile.minute) == ("1", "30")
    # Installing again updates in place rather than adding a second entry.
    call_command("install_schedules", stdout=None)
    assert PeriodicTask.objects.exclude(name="celery.backend_cleanup").count() == 6


def test_a_schedule_has_exactly_one_kind_of_timing():
    with pytest.raises(ValueError, match="every_seconds or crontab"):
        Schedule(task="t")
    with pytest.raises(ValueError, match="every_seconds or crontab"):
        Schedule(task="t", every_seconds=5, crontab=Crontab(minute="0", hour="2"))
