"""The beat schedule and the tick task on a real Celery worker."""

from __future__ import annotations

import json

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.services import schedules_install
from core.testing import CeleryWorkerProcess
from sales.models import DailyTotal, Sale
from streaming.models import SalesEvent, SalesProfile
from streaming.selectors import sales_event_summary

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_beat_runs_the_tick_on_a_real_worker_end_to_end(small_history, stream_server, sse, tmp_path):
    with override_settings(STREAMING_INTERVAL_SECONDS=1):
        schedules_install()
    tick = PeriodicTask.objects.get(task="streaming.tasks.tick_generate")
    assert tick.enabled and tick.interval.every == 1
    # A busy shop, so that one-second intervals sell something.
    SalesProfile.objects.update(level=200_000.0)
    listener = sse(f"{stream_server.url}/api/stream")
    listener.next(event="metrics")

    worker = CeleryWorkerProcess(beat=True, env={"STREAMING_INTERVAL_SECONDS": "1"}, log_dir=tmp_path)
    worker.start()
    try:
        received = json.loads(listener.next(event="sales", timeout=40).data)
    finally:
        worker.stop()
    assert received["source"] == "generator" and received["total"] > 0
    event = SalesEvent.objects.get(id=received["id"])
    assert event.interval_start is not None and sales_event_summary(event.payload()) == received
    today = timezone.localdate()
    generated = SalesEvent.objects.filter(date=today).aggregate(s=Sum("total"))["s"]
    assert Sale.objects.filter(date=today).aggregate(s=Sum("sales"))["s"] == generated
    assert DailyTotal.objects.get(date=today).sales == generated


def test_profile_refresh_runs_on_a_worker(small_history, celery_worker_process):
    from config.celery import app

    SalesProfile.objects.all().delete()
    app.send_task("streaming.tasks.profile_refresh")
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and SalesProfile.objects.count() < 6:
        time.sleep(0.2)
    assert SalesProfile.objects.count() == 6
