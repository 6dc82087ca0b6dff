"""An upload job: one file sent from the browser, and what became of it (the history the page and the
admin show). A sales file's calendar and attribute files (stores, items) are jobs of their own while they
go up; the load attaches them to the job it runs (`parent`), and they share its outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UploadJob(models.Model):
    class Status(models.TextChoices):
        UPLOADING = "uploading", "uploading"
        UPLOADED = "uploaded", "uploaded, waiting for the mapping"
        QUEUED = "queued", "queued"
        WAITING = "waiting", "waiting for another load to finish"
        LOADING = "loading", "loading"
        DONE = "done", "loaded"
        CHECKED = "checked", "checked (dry run), nothing written"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "expired (not completed or not loaded in time)"

    ACTIVE = (Status.QUEUED, Status.WAITING, Status.LOADING)
    FINISHED = (Status.DONE, Status.CHECKED, Status.FAILED, Status.CANCELLED, Status.EXPIRED)

    class Kind(models.TextChoices):
        SALES = "sales", "sales"
        CALENDAR = "calendar", "calendar"
        STORES = "stores", "stores"
        ITEMS = "items", "items"

    class Mode(models.TextChoices):
        REPLACE = "replace", "replace the history"
        APPEND = "append", "append to the history"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The name the browser gave, for people to read only: the file on disk is `stored_name`.
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADING)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.REPLACE)
    # What the file is: detected from its header once it is here, corrected by the user at the start.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SALES)
    # The job whose load reads this file beside its own (a calendar, a stores or items file).
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="companions", editable=False
    )
    dry_run = models.BooleanField(default=False)
    # What the reader is given: role -> source column, as the user confirmed it ({}: the file's own names).
    columns = models.JSONField(default=dict, blank=True)
    layout = models.CharField(max_length=32, blank=True)
    rows_estimate = models.BigIntegerField(null=True, blank=True)
    rows = models.BigIntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The validation report: the problems listed (line, column, value, message) and how many there are.
    problems = models.JSONField(default=list, blank=True)
    problem_total = models.IntegerField(default=0)
    # The PostgreSQL backend running the load: cancel interrupts it, and a backend gone while the job
    # says "loading" means the worker died (the transaction rolled back with it).
    backend_pid = models.IntegerField(null=True, blank=True)
    file_deleted = models.BooleanField(default=False)
    # When the periodic clean-up deleted the file (an upload left incomplete, or a kept file past its time).
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="uploads_job_status")]

    def __str__(self) -> str:
        return f"upload #{self.pk} {self.filename} ({self.status})"
