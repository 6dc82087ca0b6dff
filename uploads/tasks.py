"""The load of an uploaded file, on the `load` queue (config/settings.py CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from uploads import services


# No retry: a load that failed says why on the page, and the user decides. acks_late (the default here):
# a message that comes back after its worker died finds its job no longer queued and does nothing.
@shared_task(name="uploads.tasks.upload_load", ignore_result=True)
def upload_load(job_id: int) -> None:
    services.upload_job_run(job_id=job_id)


def upload_load_enqueue(*, job_id: int) -> None:
    """Send the load of a queued job to the `load` queue once the current transaction has committed."""
    transaction.on_commit(lambda: upload_load.delay(job_id))
