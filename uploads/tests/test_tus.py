"""The upload route (tus 1.0): who may send, pieces written to disk, resume from the offset, the caps,
CSRF, and files that must be refused."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from django.test import Client

from uploads.models import UploadJob
from uploads.tests.conftest import TUS, tus_create, tus_patch, tus_send

pytestmark = pytest.mark.django_db

CSV = b"date,store,item,sales\n2017-01-01,1,1,5\n2017-01-01,1,2,7\n2017-01-02,1,1,3\n"


def test_a_viewer_and_an_anonymous_client_cannot_create_an_upload(client, anonymous_client, upload_dir):
    assert tus_create(client, size=len(CSV)).status_code == 403
    assert tus_create(anonymous_client, size=len(CSV)).status_code == 401
    assert not UploadJob.objects.exists()
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_a_viewer_cannot_send_bytes_to_an_editors_upload(editor_client, client):
    location = tus_create(editor_client, size=len(CSV))["Location"]
    assert tus_patch(client, location, CSV, offset=0).status_code == 403
    assert UploadJob.objects.get().received == 0


def test_an_editor_uploads_in_pieces_and_resumes_from_the_offset_the_server_holds(editor_client, upload_dir):
    created = tus_create(editor_client, size=len(CSV), filename="../../etc/passwd")
    assert created.status_code == 201
    location = created["Location"]
    assert tus_patch(editor_client, location, CSV[:20], offset=0).status_code == 204
    # The connection dropped: the client asks where to go on.
    head = editor_client.head(location, **TUS)
    assert head["Upload-Offset"] == "20" and head["Upload-Length"] == str(len(CSV))
    assert tus_patch(editor_client, location, CSV[5:], offset=5).status_code == 409
    done = tus_patch(editor_client, location, CSV[20:], offset=20)
    assert done.status_code == 204 and done["Upload-Offset"] == str(len(CSV))
    job = UploadJob.objects.get()
    assert job.status == UploadJob.Status.UPLOADED and job.filename == "../../etc/passwd"
    # The file on disk has the server's name, in the upload directory, and holds exactly the bytes sent.
    files = list(upload_dir.iterdir())
    assert [f.name for f in files] == [f"{job.stored_name}.upload"] and files[0].read_bytes() == CSV


def test_a_file_over_the_cap_is_refused_before_a_byte_is_taken(editor_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    answer = tus_create(editor_client, size=1001)
    assert answer.status_code == 413
    assert "largest upload taken is 1,000 bytes" in answer.json()["error"]
    assert not UploadJob.objects.exists()


def test_bytes_past_the_declared_length_and_pieces_over_the_chunk_cap_are_refused(editor_client, settings):
    location = tus_create(editor_client, size=10)["Location"]
    assert tus_patch(editor_client, location, b"x" * 11, offset=0).status_code == 413
    settings.UPLOAD_CHUNK_BYTES = 64 * 1024
    big = tus_create(editor_client, size=200_000)["Location"]
    answer = tus_patch(editor_client, big, b"x" * (64 * 1024 + 1), offset=0)
    assert answer.status_code == 413 and "UPLOAD_CHUNK_BYTES" in answer.json()["error"]


def test_not_enough_free_disk_is_refused_at_creation(editor_client, settings):
    settings.UPLOAD_MIN_FREE_BYTES = 2**50
    answer = tus_create(editor_client, size=len(CSV))
    assert answer.status_code == 507 and "free disk space" in answer.json()["error"]


def test_every_write_needs_the_csrf_token(editor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    assert tus_create(browser, size=len(CSV)).status_code == 403
    page = browser.get("/upload/")
    token = page.cookies["csrftoken"].value
    assert (
        browser.post("/api/uploads/files/", HTTP_UPLOAD_LENGTH="10", HTTP_X_CSRFTOKEN=token, **TUS).status_code == 201
    )


def _gzip_bomb() -> bytes:
    return gzip.compress(b"0" * 50_000_000, compresslevel=9)


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sales.csv", b"0" * 50_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize("bomb", [_gzip_bomb, _zip_bomb], ids=["gzip", "zip"])
def test_a_compression_bomb_is_refused_when_its_last_piece_arrives(editor_client, upload_dir, bomb):
    data = bomb()
    created = tus_create(editor_client, size=len(data), filename="sales.csv.gz")
    answer = tus_patch(editor_client, created["Location"], data, offset=0)
    assert answer.status_code == 422
    assert "compression bomb" in answer.json()["error"]
    job = UploadJob.objects.get()
    assert job.status == UploadJob.Status.FAILED and job.file_deleted
    assert list(upload_dir.iterdir()) == []


def test_a_compressed_file_past_the_cap_is_refused(editor_client, settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    data = gzip.compress(CSV * 200)
    assert len(data) < 10_000 < len(CSV * 200)
    created = tus_create(editor_client, size=len(data))
    answer = tus_patch(editor_client, created["Location"], data, offset=0)
    assert answer.status_code == 422 and "past the largest upload taken" in answer.json()["error"]


def test_the_preview_guesses_a_role_per_column_and_takes_a_correction(editor_client):
    data = b"day,shop,product,qty_sold,note\n2017-01-01,1,1,5,a\n2017-01-02,1,2,7.5,b\n"
    key = tus_send(editor_client, data)
    preview = editor_client.post(f"/api/uploads/{key}/preview", {}, format="json").json()
    assert [(c["name"], c["role"], c["type"]) for c in preview["columns"]] == [
        ("day", "date", "date"),
        ("shop", "store", "integer"),
        ("product", "item", "integer"),
        ("qty_sold", "", "decimal"),
        ("note", "", "text"),
    ]
    assert preview["missing"] == ["sales"] and preview["rows"][0] == ["2017-01-01", "1", "1", "5", "a"]
    fixed = editor_client.post(f"/api/uploads/{key}/preview", {"columns": {"qty_sold": "sales"}}, format="json")
    assert fixed.json()["missing"] == []
    refused = editor_client.post(f"/api/uploads/{key}/start", {}, format="json")
    assert refused.status_code == 400 and "no column is mapped to sales" in refused.json()["error"]


def test_viewers_see_no_upload_page_and_no_history(client, anonymous_client):
    assert client.get("/upload/").status_code == 403
    assert anonymous_client.get("/upload/").status_code == 302
    assert client.get("/api/uploads/").status_code == 403
    assert "Upload data" not in client.get("/").content.decode()


def test_editors_see_the_link_on_the_dashboard(editor):
    browser = Client()
    browser.force_login(editor)
    assert "Upload data" in browser.get("/").content.decode()
    assert browser.get("/upload/").status_code == 200


def test_the_history_is_in_the_admin_read_only(editor_client, staff_client):
    tus_send(editor_client, CSV, filename="march.csv")
    page = staff_client.get("/admin/uploads/uploadjob/")
    assert page.status_code == 200 and "march.csv" in page.content.decode()
    job = UploadJob.objects.get()
    assert staff_client.get(f"/admin/uploads/uploadjob/{job.pk}/change/").status_code == 200
    assert staff_client.post(f"/admin/uploads/uploadjob/{job.pk}/change/", {"filename": "x"}).status_code == 403
