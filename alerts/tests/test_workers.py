"""Two real Celery workers: every batch queues an evaluation (streaming's batch_recorded signal), the
workers race, and each state change is still recorded once and notified once, after retries."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from alerts import services
from alerts.models import DeliveryAttempt, Notification, Rule, StateChange
from alerts.tests.conftest import NOON
from alerts.tests.helpers import WebhookReceiver
from core.testing import CeleryWorkerProcess
from streaming.services import sales_ingest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKER_ENV = {"ALERTS_WEBHOOK_ALLOW": "loopback", "ALERTS_RETRY_BASE_MS": "300"}


@pytest.fixture
def two_workers(django_db_setup, tmp_path):
    workers = [CeleryWorkerProcess(log_dir=tmp_path, env=WORKER_ENV) for _ in range(2)]
    for worker in workers:
        worker.start()
    yield workers
    for worker in workers:
        worker.stop()


def _wait_for(condition, *, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.1)


def test_two_workers_record_and_send_once_per_state_change_after_retries(shop, clock, settings, two_workers):
    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]
    flaky = WebhookReceiver(signing_key="k", fail_first=2)
    flaky.start()
    try:
        point = services.contact_point_save(fields={"name": "hook", "kind": "webhook"}, url=flaky.url, signing_key="k")
        rule = Rule.objects.create(
            name="every store sold",
            level="store",
            condition="threshold",
            direction="above",
            threshold=0,
            created_at=NOON - timedelta(hours=1),
            updated_at=NOON,
        )
        rule.contact_points.add(point)
        # Eight batches in a row: eight evaluations queued, taken by both workers at once.
        for _ in range(8):
            sales_ingest(rows=[(1, 1, 1), (2, 1, 1)], timestamp=NOON)
        _wait_for(lambda: Notification.objects.filter(status="sent").exists())
        # Let any straggler evaluation or duplicate delivery land before counting.
        _wait_for(lambda: not _queued_work())
    finally:
        flaky.stop()
    changes = list(StateChange.objects.filter(rule=rule).values_list("store_id", "to_state"))
    assert sorted(changes) == [(1, "Alerting"), (2, "Alerting")]
    (notification,) = Notification.objects.filter(rule=rule)
    assert len(flaky.accepted) == 1 and len(flaky.requests) == 3
    assert flaky.accepted[0]["key"] == notification.idempotency_key and flaky.accepted[0]["signed"]
    assert list(
        DeliveryAttempt.objects.filter(notification=notification).order_by("at").values_list("ok", flat=True)
    ) == [
        False,
        False,
        True,
    ]


def _queued_work() -> bool:
    """Whether the broker still holds messages or a worker still runs a task."""
    from config.celery import app

    inspect = app.control.inspect(timeout=1)
    active = inspect.active() or {}
    reserved = inspect.reserved() or {}
    scheduled = inspect.scheduled() or {}
    busy = any(active.values()) or any(reserved.values()) or any(scheduled.values())
    with app.connection_for_write() as connection:
        waiting = connection.default_channel.client.llen("live")
    return busy or bool(waiting)


def test_a_notification_whose_delivery_was_lost_is_sent_once_by_the_outbox_sweep(shop, clock, settings, two_workers):
    """As after a worker or broker restart: the state change and its notification are committed, but the
    queued delivery is gone. The sweep (beat, every minute) sends it, once however often it runs."""
    from alerts.tasks import notifications_flush

    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]
    receiver = WebhookReceiver(signing_key="k")
    receiver.start()
    try:
        point = services.contact_point_save(
            fields={"name": "hook", "kind": "webhook"}, url=receiver.url, signing_key="k"
        )
        rule = Rule.objects.create(
            name="store 1 sold",
            level="store",
            store_id=1,
            condition="threshold",
            direction="above",
            threshold=0,
            created_at=NOON - timedelta(hours=1),
            updated_at=NOON,
        )
        rule.contact_points.add(point)
        # Recorded without the signal's follow-up (the batch's task "lost"), judged here: nothing queued.
        from streaming.signals import batch_recorded

        with _receivers_muted(batch_recorded):
            sales_ingest(rows=[(1, 1, 1)], timestamp=NOON)
        services.alerts_evaluate(now=NOON)
        (notification,) = Notification.objects.filter(rule=rule)
        for _ in range(3):
            notifications_flush.delay()
        _wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="sent").exists())
        _wait_for(lambda: not _queued_work())
    finally:
        receiver.stop()
    assert [r["key"] for r in receiver.accepted] == [notification.idempotency_key]


class _receivers_muted:
    def __init__(self, signal) -> None:
        self.signal = signal

    def __enter__(self):
        self.saved, self.signal.receivers = self.signal.receivers, []
        self.signal.sender_receivers_cache.clear()

    def __exit__(self, *exc):
        self.signal.receivers = self.saved
        self.signal.sender_receivers_cache.clear()
