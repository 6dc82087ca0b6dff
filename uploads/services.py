"""Writes of the upload: a file received piece by piece (tus), the job that loads it (with the files that
go with it: a calendar, stores and items files), cancel, and the clean-up after a worker died. The load
itself goes through sales.services.sales_load_files, as load_train's."""

from __future__ import annotations

import functools
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from sales.loading import LoadError, LoadProblem
from sales.services import FilesLoadSummary
from uploads import reading
from uploads.models import UploadJob

logger = logging.getLogger(__name__)
Status = UploadJob.Status
Kind = UploadJob.Kind
WRITE_BYTES = 1 << 20
PROGRESS_EVERY_SECONDS = 0.5
PROGRESS_TTL_SECONDS = 24 * 3600


class UploadRefused(Exception):
    """A request the upload cannot take; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class UploadCancelled(Exception):
    """Raised inside the load when its job was cancelled: the transaction rolls back."""


def upload_path(job: UploadJob) -> Path:
    return settings.UPLOAD_DIR / f"{job.stored_name}.upload"


def _disk_check(*, need: int, what: str) -> None:
    free = reading.disk_free(settings.UPLOAD_DIR)
    if free < need + settings.UPLOAD_MIN_FREE_BYTES:
        raise UploadRefused(
            f"not enough free disk space {what}: {need:,} bytes needed and {settings.UPLOAD_MIN_FREE_BYTES:,}"
            f" kept free, {free:,} free",
            status=507,
        )


def upload_create(*, user: Any, filename: str, size: int) -> UploadJob:
    """Start receiving a file of `size` bytes: the cap and the free disk space are checked before a byte
    is taken. The file on disk gets a name made here; the browser's name is kept for people to read."""
    if size > settings.UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"the file is {size:,} bytes; the largest upload taken is {settings.UPLOAD_MAX_BYTES:,} bytes"
            " (UPLOAD_MAX_BYTES)",
            status=413,
        )
    _disk_check(need=size, what="for this file")
    job = UploadJob.objects.create(
        user=user, filename=(filename or "upload")[:255], stored_name=uuid.uuid4().hex, size=size
    )
    upload_path(job).touch(mode=0o600, exist_ok=False)
    return job


class Readable(Protocol):
    """Where a piece's bytes come from: the request itself (its body is read as it arrives), or a file."""

    def read(self, size: int = -1, /) -> bytes: ...


def upload_chunk_write(*, job: UploadJob, offset: int, body: Readable, length: int) -> int:
    """Append `length` bytes of `body` at `offset` (which must be where the file ends now), written to
    disk as they are read. Returns the new offset; at the end of the file the job is ready for its preview."""
    with transaction.atomic():
        # One piece at a time per upload: a second request for the same offset waits, then finds it taken.
        job = UploadJob.objects.select_for_update().get(pk=job.pk)
        if job.status != Status.UPLOADING:
            raise UploadRefused("this upload is complete or closed; it takes no more bytes", status=409)
        if offset != job.received:
            raise UploadRefused(f"Upload-Offset is {offset:,} but the server holds {job.received:,} bytes", status=409)
        if offset + length > job.size:
            raise UploadRefused(f"the piece ends past the file's declared length ({job.size:,} bytes)", status=413)
        job.received = offset + _piece_write(path=upload_path(job), offset=offset, body=body, length=length)
        job.save(update_fields=["received"])
    if job.received == job.size:
        upload_complete(job=job)
    return job.received


def _piece_write(*, path: Path, offset: int, body: Readable, length: int) -> int:
    written = 0
    with path.open("r+b") as out:
        out.seek(offset)
        while written < length and (piece := body.read(min(WRITE_BYTES, length - written))):
            out.write(piece)
            written += len(piece)
        out.truncate()
    return written


def upload_complete(*, job: UploadJob) -> None:
    """The whole file is here: refuse a compression bomb at once, estimate its rows, wait for the mapping."""
    path = upload_path(job)
    try:
        reading.file_expansion_check(path)
        preview = reading.file_preview(path=path)
    except (reading.FileRefused, OSError, ValueError, EOFError) as error:
        _job_finish(job=job, status=Status.FAILED, error=f"{job.filename}: {error}")
        upload_file_discard(job=job)
        raise UploadRefused(f"{job.filename}: {error}", status=422) from None
    job.status, job.uploaded_at, job.kind = Status.UPLOADED, timezone.now(), preview.kind
    job.layout, job.rows_estimate = preview.layout, preview.rows_estimate
    job.save(update_fields=["status", "uploaded_at", "kind", "layout", "rows_estimate"])


def upload_preview(
    *, job: UploadJob, columns: dict[str, str] | None = None, kind: str | None = None
) -> reading.Preview:
    """The preview of an uploaded file as a file of `kind` (None: the kind found when it arrived), with
    `columns` (source column -> role) applied to a sales file."""
    if job.status == Status.UPLOADING or job.file_deleted:
        raise UploadRefused(f"{job.filename}: the file is not (or no longer) on the server", status=409)
    try:
        return reading.file_preview(path=upload_path(job), columns=columns, kind=kind or job.kind)
    except (reading.FileRefused, OSError, ValueError, EOFError) as error:
        raise UploadRefused(f"{job.filename}: {error}", status=422) from None


def upload_job_submit(
    *,
    job: UploadJob,
    columns: dict[str, str],
    mode: str,
    dry_run: bool,
    kind: str = Kind.SALES,
    companions: list[tuple[UploadJob, str]] | None = None,
) -> UploadJob:
    """Mark an uploaded file of `kind` queued with the user's mapping, and attach `companions` (uploaded
    files, each with its kind) to its load; the caller enqueues the load (uploads.tasks.upload_load_enqueue).
    A sales file, when there is one, is the job itself; each kind comes at most once."""
    companions = companions or []
    for file in (job, *(other for other, _ in companions)):
        if file.status != Status.UPLOADED or file.parent_id is not None:
            raise UploadRefused(
                f"{file.filename} is {file.get_status_display()}; only an uploaded file can be loaded", status=409
            )
    _kinds_check(job=job, kind=kind, companions=companions)
    preview = upload_preview(job=job, columns=columns, kind=kind)
    if preview.missing:
        raise UploadRefused(f"{job.filename}: no column is mapped to {', '.join(preview.missing)}")
    if preview.layout == "not recognised":
        raise UploadRefused(f"the file's layout is not recognised: {'; '.join(preview.warnings)}")
    if preview.layout == "m5" and not any(k == Kind.CALENDAR for _, k in companions):
        raise UploadRefused(f"{job.filename} is M5's wide file: add its calendar (calendar.csv) to the upload")
    with transaction.atomic():
        # Locked, and still as they were: the clean-up may have expired one meanwhile.
        files = [job.pk, *(other.pk for other, _ in companions)]
        if len(UploadJob.objects.select_for_update().filter(pk__in=files, status=Status.UPLOADED)) != len(files):
            raise UploadRefused("a file of this upload expired meanwhile; send it again", status=409)
        for other, other_kind in companions:
            other.parent, other.kind, other.status = job, other_kind, Status.QUEUED
            other.save(update_fields=["parent", "kind", "status"])
        # What the reader takes: role -> column, or {} when it recognises the file by itself.
        job.columns, job.kind = preview.mapping, kind
        job.mode, job.dry_run, job.status = mode, dry_run, Status.QUEUED
        job.save(update_fields=["columns", "kind", "mode", "dry_run", "status"])
    cache.set(_progress_key(job.pk), {"stage": "queued", "rows": 0}, PROGRESS_TTL_SECONDS)
    return UploadJob.objects.prefetch_related("companions").get(pk=job.pk)


def _kinds_check(*, job: UploadJob, kind: str, companions: list[tuple[UploadJob, str]]) -> None:
    kinds = [kind, *(k for _, k in companions)]
    doubled = sorted({k for k in kinds if kinds.count(k) > 1})
    if doubled:
        raise UploadRefused(f"one file of each kind: {', '.join(doubled)} given more than once")
    if Kind.SALES in kinds[1:]:
        raise UploadRefused("the sales file is the upload loaded; the others go with it")
    if any(other.pk == job.pk for other, _ in companions):
        raise UploadRefused("a file cannot go with itself")
    if kind != Kind.SALES and Kind.CALENDAR in kinds:
        raise UploadRefused("a calendar goes with a sales file (M5's wide file)")


# ---------------------------------------------------------------- the load (in the worker)


def _progress_key(job_id: int) -> str:
    return f"uploads:progress:{job_id}"


def _cancel_key(job_id: int) -> str:
    return f"uploads:cancel:{job_id}"


def upload_progress(*, job_id: int) -> dict[str, Any]:
    """What the load's worker last said: stage, rows, started (epoch seconds), at."""
    return cache.get(_progress_key(job_id)) or {}


class _Reporter:
    """The load's progress callback: says where the load is (in the cache, since the load's own
    transaction is not visible to anyone) and stops it when the job was cancelled."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.started = time.time()
        self.said = 0.0
        self.rows = 0

    def cancelled(self) -> None:
        if cache.get(_cancel_key(self.job_id)):
            raise UploadCancelled

    def __call__(self, stage: str, rows: int) -> None:
        self.cancelled()
        self.rows = max(rows, self.rows)
        now = time.time()
        if stage != "reading" or now - self.said >= PROGRESS_EVERY_SECONDS:
            self.said = now
            self.say(stage)

    def say(self, stage: str) -> None:
        state = {"stage": stage, "rows": self.rows, "started": self.started, "at": time.time()}
        cache.set(_progress_key(self.job_id), state, PROGRESS_TTL_SECONDS)

    def waiting(self) -> None:
        self.cancelled()
        self.say("waiting")


def upload_job_run(*, job_id: int) -> None:
    """Load an uploaded file (the Celery task's work). Runs once: a job no longer queued (cancelled,
    or taken by a worker that died, whose message came back) is left alone."""
    with transaction.atomic():
        job = UploadJob.objects.select_for_update().filter(pk=job_id, status=Status.QUEUED).first()
        if job is None:
            return
        with connection.cursor() as cursor:
            # A backend whose client died ends at once, rather than when its statement finishes.
            cursor.execute("SET client_connection_check_interval = '1s'")
            cursor.execute("SELECT pg_backend_pid()")
            job.backend_pid = cursor.fetchone()[0]
        job.status, job.started_at = Status.LOADING, timezone.now()
        job.save(update_fields=["status", "started_at", "backend_pid"])
    reporter = _Reporter(job.pk)
    # The files go in the same write as the outcome: whoever sees the job finished sees them gone.
    finish = functools.partial(_job_finish, job=job, discard=not settings.UPLOAD_KEEP_FILES)
    reporter.say("starting")
    try:
        summary = _job_load(job=job, reporter=reporter)
    except UploadCancelled:
        finish(status=Status.CANCELLED, error="cancelled; the history is as it was")
    except LoadError as error:
        if cache.get(_cancel_key(job.pk)):  # the interrupted statement surfaces as the file's problem
            finish(status=Status.CANCELLED, error="cancelled; the history is as it was")
        else:
            finish(status=Status.FAILED, report=error)
    except (UploadRefused, reading.FileRefused) as error:
        finish(status=Status.FAILED, error=f"{job.filename}: {error}")
    except Exception as error:  # the job must say why, whatever went wrong
        logger.exception("upload load failed", extra={"job": job.pk})
        cancelled = cache.get(_cancel_key(job.pk))
        status = Status.CANCELLED if cancelled else Status.FAILED
        finish(status=status, error="cancelled; the history is as it was" if cancelled else str(error))
    else:
        finish(status=Status.CHECKED if job.dry_run else Status.DONE, summary=summary)
    finally:
        reporter.say("finished")


def _job_files(job: UploadJob) -> dict[str, Path]:
    """Kind -> path of the job's file and of those that go with it."""
    return {job.kind: upload_path(job)} | {other.kind: upload_path(other) for other in job.companions.all()}


def _job_load(*, job: UploadJob, reporter: _Reporter) -> FilesLoadSummary | int:
    files = _job_files(job)
    need = reading.load_bytes(files["sales"]) if "sales" in files else 0
    _disk_check(need=need, what="to load this file")
    if reading.disk_free(Path(tempfile.gettempdir())) < need:
        raise UploadRefused(f"not enough free disk space in {tempfile.gettempdir()} to load this file", status=507)
    if job.dry_run:
        return reading.file_check(
            files=files,
            mapping=job.columns,
            check=lambda p: _csv_check(path=p, progress=reporter),
            problem_limit=settings.UPLOAD_REPORT_MAX_PROBLEMS,
        )
    return reading.file_load(
        files=files,
        mapping=job.columns,
        append=job.mode == UploadJob.Mode.APPEND,
        progress=reporter,
        on_wait=reporter.waiting,
        problem_limit=settings.UPLOAD_REPORT_MAX_PROBLEMS,
    )


def _csv_check(*, path: Path, progress: _Reporter) -> int:
    """A dry run: every check of the load on a staging copy, nothing written. Returns the rows."""
    from sales import loading

    limit = settings.UPLOAD_REPORT_MAX_PROBLEMS
    layout = loading.csv_read_header(path=path)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        loading.staging_create(cursor=cursor, layout=layout)
        rows, error = loading.write_step(
            lambda: loading.staging_copy(cursor=cursor, path=path, layout=layout, progress=progress)
        )
        if error is not None:
            problems, total = loading.file_structure_problems(path=path, layout=layout, limit=limit)
            raise LoadError(path=path, problems=problems or [loading.database_error_problem(error)], total=total)
        problems, total = loading.staging_problems(cursor=cursor, layout=layout, limit=limit)
        if not problems:
            problems, total = loading.staging_duplicates(cursor=cursor, layout=layout, limit=limit)
        if problems:
            raise LoadError(path=path, problems=problems, total=total)
        transaction.set_rollback(True)
    progress("checked", rows or 0)
    return rows or 0


def _job_finish(
    *,
    job: UploadJob,
    status: str,
    error: str = "",
    summary: FilesLoadSummary | int | None = None,
    report: LoadError | None = None,
    discard: bool = False,
) -> None:
    """Close `job` (and the files that went with it) with its outcome; with `discard` their files are
    deleted first."""
    job.status, job.finished_at, job.error = status, timezone.now(), error
    fields = ["status", "finished_at", "error"]
    if job.started_at:
        job.seconds = (job.finished_at - job.started_at).total_seconds()
        fields.append("seconds")
    if summary is not None:
        job.rows = summary if isinstance(summary, int) else _summary_rows(summary)
        fields.append("rows")
    if report is not None:
        job.problems = [_problem_record(problem) for problem in report.problems]
        job.problem_total = report.total
        job.error = f"{report.total:,} problem(s) in {_report_file(job=job, report=report)}; nothing was written"
        fields += ["problems", "problem_total"]
    if discard:
        _files_delete(job=job)
        fields.append("file_deleted")
    job.save(update_fields=fields)
    job.companions.update(status=status, finished_at=job.finished_at, file_deleted=job.file_deleted)
    cache.delete(_cancel_key(job.pk))


def _summary_rows(summary: FilesLoadSummary) -> int:
    """The sales rows loaded, or the stores and items read when only attribute files were given."""
    return summary.load.rows if summary.load is not None else len(summary.stores) + len(summary.items)


def _report_file(*, job: UploadJob, report: LoadError) -> str:
    """The name the user gave the file at fault (the error names the file on the server)."""
    for file in (job, *job.companions.all()):
        if str(report.path).startswith(str(upload_path(file))):
            return file.filename
    return job.filename


def _problem_record(problem: LoadProblem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "value": problem.value, "message": problem.message}


def upload_file_discard(*, job: UploadJob) -> None:
    """Delete the job's file and those that went with it."""
    _files_delete(job=job)
    job.save(update_fields=["file_deleted"])
    job.companions.update(file_deleted=True)


def _files_delete(*, job: UploadJob) -> None:
    """Unlink the job's files and its companions' (the rows are the caller's to save)."""
    for file in (job, *job.companions.all()):
        upload_path(file).unlink(missing_ok=True)
        upload_path(file).with_suffix(".csv").unlink(missing_ok=True)
    job.file_deleted = True


# ---------------------------------------------------------------- cancel, and a worker that died


def upload_job_cancel(*, job: UploadJob) -> UploadJob:
    """Stop a job. Not yet loading: it is closed at once. Loading: the load's transaction is interrupted
    and rolls back (the history stays exactly as it was); the worker then marks the job cancelled.
    A load that had already committed stays done."""
    if job.status in UploadJob.FINISHED:
        raise UploadRefused(f"this upload is already {job.get_status_display()}", status=409)
    if job.parent_id is not None:
        raise UploadRefused(f"{job.filename} goes with another file's load: cancel that one", status=409)
    cache.set(_cancel_key(job.pk), True, PROGRESS_TTL_SECONDS)
    with transaction.atomic():
        job = UploadJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (Status.UPLOADING, Status.UPLOADED, Status.QUEUED):
            _job_finish(job=job, status=Status.CANCELLED, error="cancelled before the load started")
            upload_file_discard(job=job)
            return job
    if job.status == Status.LOADING and job.backend_pid:
        with connection.cursor() as cursor:
            # Interrupts the statement running now; between statements, the load's progress check stops it.
            cursor.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = %s AND datname = current_database()",
                [job.backend_pid],
            )
    return job


# ---------------------------------------------------------------- files left behind


@dataclass(frozen=True)
class ExpiredFiles:
    """What `upload_files_expire` did: uploads closed as expired, kept files deleted."""

    incomplete: int
    kept: int


def upload_files_expire() -> ExpiredFiles:
    """Delete the files nobody will load: uploads not completed (or completed and never loaded) within
    UPLOAD_INCOMPLETE_HOURS of their start, which end expired, and files kept after their load
    (UPLOAD_KEEP_FILES) past UPLOAD_KEEP_FILES_HOURS, whose jobs keep their outcome. Both keep their
    row in the history with `expired_at`. Each job is locked first: a piece being written, or a start
    of the load, goes first or finds the job expired."""
    now = timezone.now()
    stale = UploadJob.objects.filter(
        status__in=(Status.UPLOADING, Status.UPLOADED),
        parent=None,
        created_at__lt=now - timedelta(hours=settings.UPLOAD_INCOMPLETE_HOURS),
    )
    incomplete = sum(
        _job_expire(pk=pk, statuses=(Status.UPLOADING, Status.UPLOADED)) for pk in stale.values_list("pk", flat=True)
    )
    kept = UploadJob.objects.filter(
        status__in=UploadJob.FINISHED,
        file_deleted=False,
        parent=None,
        finished_at__lt=now - timedelta(hours=settings.UPLOAD_KEEP_FILES_HOURS),
    )
    deleted = sum(_job_expire(pk=pk, statuses=UploadJob.FINISHED) for pk in kept.values_list("pk", flat=True))
    if incomplete or deleted:
        logger.info("upload files expired", extra={"incomplete": incomplete, "kept": deleted})
    return ExpiredFiles(incomplete=incomplete, kept=deleted)


def _job_expire(*, pk: int, statuses: tuple[str, ...]) -> int:
    """Delete a job's files; a job not yet finished ends expired. 1 when it was done here, 0 when the job
    had moved on meanwhile."""
    with transaction.atomic():
        job = UploadJob.objects.select_for_update().filter(pk=pk, status__in=statuses).first()
        if job is None:
            return 0
        job.expired_at = timezone.now()
        fields = ["expired_at"]
        if job.status not in UploadJob.FINISHED:
            job.status, job.finished_at = Status.EXPIRED, job.expired_at
            job.error = (
                f"not completed or not loaded within {settings.UPLOAD_INCOMPLETE_HOURS} hours; the file was deleted"
            )
            fields += ["status", "finished_at", "error"]
        job.save(update_fields=fields)
        job.companions.update(status=job.status, expired_at=job.expired_at)
        upload_file_discard(job=job)
    return 1


def upload_jobs_reap() -> int:
    """Mark failed the loads whose worker died: the job says loading but its database session is gone
    (its transaction rolled back with it, so the history is as it was). Returns how many."""
    loading = list(UploadJob.objects.filter(status=Status.LOADING).exclude(backend_pid=None))
    if not loading:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        alive = {pid for (pid,) in cursor.fetchall()}
    reaped = 0
    for job in loading:
        if job.backend_pid in alive:
            continue
        with transaction.atomic():
            locked = UploadJob.objects.select_for_update().filter(pk=job.pk, status=Status.LOADING).first()
            if locked is not None:
                _job_finish(
                    job=locked,
                    status=Status.FAILED,
                    error="the worker stopped in the middle of the load (its process ended); nothing was written,"
                    " the history is as it was",
                )
                reaped += 1
    return reaped
