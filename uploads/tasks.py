"""The load of an uploaded file, and the clean-up of files left behind, on the `load` queue
(config/settings.py CELERY_TASK_ROUTES): its worker is the one that shares UPLOAD_DIR with the web."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from core.schedules import Schedule
from uploads import services

EXPIRE_EVERY_SECONDS = 3600


# No retry: a load that failed says why on the page, and the user decides. acks_late (the default here):
# a message that comes back after its worker died finds its job no longer queued and does nothing.
@shared_task(name="uploads.tasks.upload_load", ignore_result=True)
def upload_load(job_id: int) -> None:
    services.upload_job_run(job_id=job_id)


def upload_load_enqueue(*, job_id: int) -> None:
    """Send the load of a queued job to the `load` queue once the current transaction has committed."""
    transaction.on_commit(lambda: upload_load.delay(job_id))


# No retry: the next run, an hour later, finds whatever this one left.
@shared_task(name="uploads.tasks.upload_files_expire", ignore_result=True)
def upload_files_expire() -> None:
    services.upload_files_expire()


def periodic_schedules() -> dict[str, Schedule]:
    """The clean-up of uploads left incomplete and of kept files past their time, hourly."""
    return {"uploads-expire": Schedule(task=upload_files_expire.name, every_seconds=EXPIRE_EVERY_SECONDS)}
