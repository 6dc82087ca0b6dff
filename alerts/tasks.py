"""Alerts' Celery tasks: evaluation after each live batch and on a schedule, and delivery (schedules in
config/schedules.py). Each takes ids or plain values and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts import services
from core.queueing import task_enqueue_or_warn
from core.schedules import Schedule
from streaming.models import SalesEvent


# No retry: the next batch (or the next scheduled run) judges the rules again.
@shared_task(name="alerts.tasks.alerts_evaluate_batch", ignore_result=True)
def alerts_evaluate_batch(event_id: int) -> int:
    """Judge the rules at the time of batch `event_id` (its timestamp: a late task judges what was true then)."""
    event = SalesEvent.objects.filter(pk=event_id).only("timestamp").first()
    if event is None:
        return 0
    summary = services.alerts_evaluate(now=event.timestamp, event_id=event_id)
    deliveries_enqueue(summary.notifications)
    return summary.changes


@shared_task(name="alerts.tasks.alerts_evaluate_no_data", ignore_result=True)
def alerts_evaluate_no_data() -> int:
    """The no-data rules at the current time: silence has no batch to trigger an evaluation."""
    summary = services.alerts_evaluate(now=timezone.now(), no_data_only=True)
    deliveries_enqueue(summary.notifications)
    return summary.changes


@shared_task(name="alerts.tasks.notification_deliver", bind=True, ignore_result=True, max_retries=None)
def notification_deliver(self, notification_id: int) -> str | None:
    """One attempt; a failure retries with the backoff the service computed (the outbox sweep is the
    safety net when this retry is lost with a worker or the broker)."""
    outcome = services.notification_deliver(notification_id=notification_id)
    if outcome is not None and outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status if outcome else None


@shared_task(name="alerts.tasks.notifications_flush", ignore_result=True)
def notifications_flush() -> int:
    """Queue every pending notification that is due (after a worker or broker restart)."""
    due = services.notifications_due()
    deliveries_enqueue(due)
    return len(due)


def deliveries_enqueue(notification_ids: list[int]) -> None:
    """Queue a delivery per notification (after the evaluation committed). A broker that is down loses
    nothing: the outbox sweep sends what is still pending."""
    for notification_id in notification_ids:
        if not task_enqueue_or_warn(notification_deliver, kwargs={"notification_id": notification_id}):
            return


def periodic_schedules() -> dict[str, Schedule]:
    """No-data rules every stream interval (silence has no batch to trigger an evaluation); the outbox
    sweep every minute (notifications whose queued delivery was lost with a worker or the broker)."""
    return {
        "alerts-no-data": Schedule(
            task=alerts_evaluate_no_data.name, every_seconds=settings.STREAMING_INTERVAL_SECONDS
        ),
        "alerts-outbox": Schedule(task=notifications_flush.name, every_seconds=60),
    }
