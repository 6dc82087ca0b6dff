"""Enqueueing follow-up work from code that must not fail because of it (a receiver run after a
commit): the work that committed stays, a broker that does not answer costs a warning."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

logger = logging.getLogger(__name__)

# One broker attempt and one retry this far apart, then give up: a caller connecting two follow-ups
# waits about two of these when the broker is down, rather than kombu's retries.
BROKER_ATTEMPT_SECONDS = 1.0


def task_enqueue_or_warn(task: Task, *, kwargs: dict[str, Any] | None = None) -> bool:
    """Send `task` (a Celery task) with `kwargs` to its queue, asking for no result (nobody waits
    for one: the result backend stays out of it). Returns whether it was sent; when the broker does
    not answer, logs a warning naming the task and returns False."""
    try:
        with task.app.connection_for_write() as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=BROKER_ATTEMPT_SECONDS, timeout=BROKER_ATTEMPT_SECONDS
            )
            task.apply_async(kwargs=kwargs or {}, connection=broker, retry=False, ignore_result=True)
    except Exception as error:  # any broker failure: the caller's work has committed
        logger.warning("could not enqueue follow-up task", extra={"task": task.name, "error": str(error)})
        return False
    return True
