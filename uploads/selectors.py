"""Reads of the upload: one job as the page shows it (with the load's progress), the recent history."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import QuerySet

from core.access import user_can_edit
from uploads.models import UploadJob
from uploads.services import upload_progress

HISTORY_SIZE = 20
REPORT_SHOWN = 1000


def upload_jobs_visible(*, user: Any) -> QuerySet[UploadJob]:
    """The jobs `user` may see: every job for an editor or staff (they share one history), none otherwise."""
    if not user_can_edit(user=user):
        return UploadJob.objects.none()
    return UploadJob.objects.select_related("user")


def upload_job_get(*, user: Any, key: str) -> UploadJob | None:
    return upload_jobs_visible(user=user).prefetch_related("companions").filter(stored_name=key).first()


def upload_jobs_recent(*, user: Any, limit: int = HISTORY_SIZE) -> list[UploadJob]:
    """The latest jobs, each with the files that went with it (listed inside it, not on their own)."""
    jobs = upload_jobs_visible(user=user).filter(parent=None).prefetch_related("companions")
    return list(jobs[:limit])


def upload_queue_position(*, job: UploadJob) -> int:
    """How many loads run or wait before `job` (0: it is next, or running)."""
    if job.status != UploadJob.Status.QUEUED:
        return 0
    ahead = UploadJob.objects.filter(status__in=UploadJob.ACTIVE, parent=None).exclude(pk=job.pk)
    return (
        ahead.filter(status=UploadJob.Status.LOADING).count()
        + ahead.filter(status=UploadJob.Status.QUEUED, created_at__lt=job.created_at).count()
    )


def upload_job_progress(*, job: UploadJob) -> dict[str, Any]:
    """The load's stage, rows, rows per second and seconds left (None when unknown)."""
    state = upload_progress(job_id=job.pk)
    rows = job.rows if job.rows is not None and job.status in UploadJob.FINISHED else state.get("rows", 0)
    stage = state.get("stage", "")
    elapsed = max(time.time() - state["started"], 1e-6) if "started" in state else None
    rate = rows / elapsed if elapsed and rows else None
    left = None
    if rate and job.rows_estimate and stage == "reading":
        left = max(job.rows_estimate - rows, 0) / rate
    return {
        "stage": "waiting" if job.status == UploadJob.Status.QUEUED and upload_queue_position(job=job) else stage,
        "rows": rows,
        "rows_estimate": job.rows_estimate,
        "rows_per_second": round(rate) if rate else None,
        "seconds_left": round(left, 1) if left is not None else None,
        "queue_position": upload_queue_position(job=job),
    }
