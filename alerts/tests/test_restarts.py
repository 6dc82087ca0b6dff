"""Once per state change across crashes: a Celery worker killed (SIGKILL) mid-delivery, Redis restarted between
the evaluation and the delivery, and the worker's PostgreSQL connections terminated mid-run. In each, the state
change is recorded once and its notification sent with one idempotency key, whatever is retried.

A delivery holds its notification's row lock for the length of the send: a crash before the commit rolls the
attempt back, and the outbox sweep (beat, every minute; run by hand here) sends it again, with the same key. A
receiver that answered the lost attempt sees a repeat with the same key, which it drops (at least once over the
network); one that never answered it sees it once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import Celery
from django.db import connection

from alerts import services
from alerts.models import DeliveryAttempt, Notification, Rule, StateChange
from alerts.tests.conftest import NOON
from alerts.tests.helpers import WebhookReceiver
from alerts.tests.test_workers import _queued_work, _receivers_muted, _wait_for
from core.devstack import RedisServer
from core.testing import CeleryWorkerProcess
from streaming.services import sales_ingest
from streaming.signals import batch_recorded

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Long enough that a stalled receiver is still stalled when the test strikes.
WORKER_ENV = {"ALERTS_WEBHOOK_ALLOW": "loopback", "ALERTS_DELIVERY_TIMEOUT_SECONDS": "120"}


def _rule_with(*points) -> Rule:
    rule = Rule.objects.create(
        name="CA_1 sold",
        level="store",
        store_id=1,
        condition="threshold",
        direction="above",
        threshold=0,
        created_at=NOON - timedelta(hours=1),
        updated_at=NOON,
    )
    rule.contact_points.add(*points)
    return rule


def _hook(receiver: WebhookReceiver, name: str = "hook"):
    return services.contact_point_save(fields={"name": name, "kind": "webhook"}, url=receiver.url, signing_key="k")


def _recorded_once(rule: Rule) -> Notification:
    """The rule's one state change and its one notification, sent."""
    assert list(StateChange.objects.filter(rule=rule).values_list("store_id", "to_state")) == [(1, "Alerting")]
    (notification,) = Notification.objects.filter(rule=rule)
    assert notification.status == "sent"
    assert list(DeliveryAttempt.objects.filter(notification=notification).values_list("ok", flat=True)) == [True]
    return notification


@pytest.fixture
def receiver():
    stalling = WebhookReceiver(signing_key="k", stall_first=True)
    stalling.start()
    yield stalling
    stalling.stop()


def test_a_worker_killed_mid_delivery_is_replaced_and_the_notification_sent_once(
    shop, clock, settings, tmp_path, receiver
):
    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]
    rule = _rule_with(_hook(receiver))
    first = CeleryWorkerProcess(log_dir=tmp_path, env=WORKER_ENV)
    first.start()
    try:
        sales_ingest(rows=[(1, 1, 1)], timestamp=NOON)  # queues the evaluation; the worker then delivers
        _wait_for(lambda: len(receiver.requests) == 1)  # the receiver has it, and has not answered
        first.kill()
    finally:
        first.stop()
    # The attempt died with its worker: nothing was committed, so the notification is still pending.
    (notification,) = Notification.objects.filter(rule=rule)
    assert (notification.status, notification.attempts) == ("pending", 0)
    second = CeleryWorkerProcess(log_dir=tmp_path, env=WORKER_ENV)
    second.start()
    try:
        from alerts.tasks import notifications_flush

        notifications_flush.delay()  # beat's outbox sweep
        _wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="sent").exists())
        _wait_for(lambda: not _queued_work())
    finally:
        second.stop()
    notification = _recorded_once(rule)
    # Two requests (the killed one was never answered), one key; one answered.
    assert receiver.keys == [notification.idempotency_key] * 2
    assert [entry["key"] for entry in receiver.accepted] == [notification.idempotency_key]


class PrivateBrokerWorker(CeleryWorkerProcess):
    """A worker on its own Redis: readiness asked through that broker, and nothing purged elsewhere."""

    def __init__(self, *, app: Celery, **kwargs) -> None:
        super().__init__(**kwargs)
        self.app = app

    def start(self, *, timeout: float = 60.0) -> None:
        super(CeleryWorkerProcess, self).start(timeout=timeout)

    def wait_ready(self, timeout: float) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if self.app.control.ping(timeout=0.5):
                return
        raise TimeoutError(f"celery worker did not answer a ping within {timeout}s:\n{self.log()[-4000:]}")


def test_a_redis_restart_between_evaluation_and_delivery_loses_no_notification_and_sends_none_twice(
    shop, clock, settings, tmp_path, receiver
):
    """The worker evaluates a batch and queues two deliveries; it takes the first (its receiver stalls), the
    second waits in Redis; Redis restarts without persistence, and the queued delivery is gone. The worker
    reconnects, and the sweep sends the lost one, once; the stalled one completes, once."""
    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]
    other = WebhookReceiver(signing_key="k")
    other.start()
    redis = RedisServer(directory=tmp_path / "redis")
    redis.start()
    # Not the current app: the shared tasks of this process (and of the tests after it) keep the project's.
    broker = Celery("alerts-restart-test", broker=redis.url, set_as_current=False)
    broker.conf.task_default_queue = "live"
    worker = PrivateBrokerWorker(app=broker, log_dir=tmp_path, env={**WORKER_ENV, "REDIS_URL": redis.url})
    worker.start()
    try:
        # Contact points go in name order: "a-stalls" is delivered first and holds the one worker process.
        rule = _rule_with(_hook(receiver, "a-stalls"), _hook(other, "b-waits"))
        with _receivers_muted(batch_recorded):  # queued below, on this test's own Redis
            event = sales_ingest(rows=[(1, 1, 1)], timestamp=NOON)
        broker.send_task("alerts.tasks.alerts_evaluate_batch", args=[event.id])
        _wait_for(lambda: len(receiver.requests) == 1)
        assert other.requests == []  # its delivery is queued in Redis, behind the stalled one
        redis.stop()
        redis.start()
        receiver.release()
        _wait_for(lambda: Notification.objects.filter(rule=rule, status="sent").count() == 1)
        assert other.requests == []  # lost with Redis
        broker.send_task("alerts.tasks.notifications_flush")  # beat's outbox sweep
        _wait_for(lambda: Notification.objects.filter(rule=rule, status="sent").count() == 2)
    finally:
        worker.stop()
        broker.close()
        redis.stop()
        other.stop()
    assert list(StateChange.objects.filter(rule=rule).values_list("store_id", "to_state")) == [(1, "Alerting")]
    stalled, waited = Notification.objects.filter(rule=rule).order_by("contact_point__name")
    assert [entry["key"] for entry in receiver.accepted] == receiver.keys == [stalled.idempotency_key]
    assert [entry["key"] for entry in other.accepted] == other.keys == [waited.idempotency_key]


def _workers_connections_terminate() -> int:
    """Terminate every other session on this database (the worker's: nothing else uses the test database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_postgresql_connections_terminated_mid_delivery_the_same_worker_recovers(
    shop, clock, settings, tmp_path, receiver
):
    """The worker's session is terminated while it waits on the receiver, its row lock and attempt with it: the
    receiver's answer cannot be recorded, so the sweep sends again, with the same key. The same worker (not
    restarted) then judges and notifies the next change on fresh connections, once."""
    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]
    rule = _rule_with(_hook(receiver))
    worker = CeleryWorkerProcess(log_dir=tmp_path, env=WORKER_ENV)
    worker.start()
    try:
        sales_ingest(rows=[(1, 1, 1)], timestamp=NOON)
        _wait_for(lambda: len(receiver.requests) == 1)
        assert _workers_connections_terminate() >= 1
        receiver.release()
        _wait_for(lambda: not _queued_work())
        (notification,) = Notification.objects.filter(rule=rule)
        assert (notification.status, notification.attempts) == ("pending", 0)
        from alerts.tasks import notifications_flush

        notifications_flush.delay()
        _wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="sent").exists())
        # Back under the threshold? No: a threshold of 0 keeps firing. A second rule fires on the next batch.
        later = Rule.objects.create(
            name="TX_2 sold",
            level="store",
            store_id=2,
            condition="threshold",
            direction="above",
            threshold=0,
            created_at=NOON - timedelta(hours=1),
            updated_at=NOON,
        )
        later.contact_points.add(*rule.contact_points.all())
        _workers_connections_terminate()  # idle ones this time, between tasks
        sales_ingest(rows=[(2, 1, 1)], timestamp=NOON)
        _wait_for(lambda: Notification.objects.filter(rule=later, status="sent").exists())
        _wait_for(lambda: not _queued_work())
    finally:
        worker.stop()
    notification = _recorded_once(rule)
    # The terminated attempt reached the receiver and was answered: a repeat, with the same key.
    assert [entry["key"] for entry in receiver.accepted[:2]] == [notification.idempotency_key] * 2
    (later_change,) = StateChange.objects.filter(rule=later)
    (later_notification,) = Notification.objects.filter(rule=later, status="sent")
    assert later_change.to_state == "Alerting"
    assert [entry["key"] for entry in receiver.accepted[2:]] == [later_notification.idempotency_key]
