"""The hourly clean-up: uploads left incomplete (or never loaded) and kept files past their time are
deleted, and their jobs stay in the history, marked expired. On the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from uploads import tasks
from uploads.models import UploadJob
from uploads.services import ExpiredFiles, upload_files_expire
from uploads.tests.conftest import TUS, tus_create, tus_patch, tus_send

pytestmark = pytest.mark.django_db

CSV = b"date,store,item,sales\n2017-01-01,1,1,5\n2017-01-01,1,2,7\n2017-01-02,1,1,3\n"


def later(hours: float):
    return time_machine.travel(timezone.now() + timedelta(hours=hours), tick=False)


def test_uploads_not_completed_or_not_loaded_in_time_expire_and_stay_in_the_history(
    editor_client, upload_dir, settings
):
    settings.UPLOAD_INCOMPLETE_HOURS = 24
    location = tus_create(editor_client, size=len(CSV), filename="half.csv")["Location"]
    assert tus_patch(editor_client, location, CSV[:20], offset=0).status_code == 204
    complete = tus_send(editor_client, CSV, filename="never-loaded.csv")
    assert len(list(upload_dir.iterdir())) == 2
    with later(23):
        assert upload_files_expire() == ExpiredFiles(incomplete=0, kept=0)
    assert len(list(upload_dir.iterdir())) == 2
    with later(25):
        tasks.upload_files_expire()  # what beat runs, hourly
    assert list(upload_dir.iterdir()) == []
    listed = editor_client.get("/api/uploads/").json()["results"]
    assert {(r["filename"], r["status"], r["file_deleted"], r["expired_at"] is not None) for r in listed} == {
        ("half.csv", "expired", True, True),
        ("never-loaded.csv", "expired", True, True),
    }
    assert "within 24 hours" in listed[0]["error"]
    # The client resuming the expired upload is told it is gone (tus: 410), and starting the other is refused.
    assert editor_client.head(location, **TUS).status_code == 410
    assert tus_patch(editor_client, location, CSV[20:], offset=20).status_code == 410
    assert editor_client.post(f"/api/uploads/{complete}/start", {}, format="json").status_code == 409


def test_kept_files_are_deleted_past_their_hours_and_their_jobs_keep_their_outcome(
    editor_client, staff_client, upload_dir, settings
):
    settings.UPLOAD_KEEP_FILES, settings.UPLOAD_KEEP_FILES_HOURS = True, 48
    key = tus_send(editor_client, CSV, filename="kept.csv")
    UploadJob.objects.filter(stored_name=key).update(status="done", rows=3, finished_at=timezone.now())
    with later(47):
        assert upload_files_expire() == ExpiredFiles(incomplete=0, kept=0)
    assert len(list(upload_dir.iterdir())) == 1
    with later(49):
        assert upload_files_expire() == ExpiredFiles(incomplete=0, kept=1)
        assert upload_files_expire() == ExpiredFiles(incomplete=0, kept=0)  # once
    assert list(upload_dir.iterdir()) == []
    state = editor_client.get(f"/api/uploads/{key}").json()
    assert (state["status"], state["rows"], state["file_deleted"]) == ("done", 3, True)
    assert state["expired_at"] is not None
    admin = staff_client.get("/admin/uploads/uploadjob/")
    assert admin.status_code == 200 and "kept.csv" in admin.content.decode()
