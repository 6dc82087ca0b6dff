"""Fixtures of the upload's tests: a directory of its own for uploaded files, and helpers that speak tus."""

from __future__ import annotations

import base64

import pytest

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.UPLOAD_MIN_FREE_BYTES = 0
    return settings.UPLOAD_DIR


def tus_create(client, *, size: int, filename: str = "sales.csv"):
    meta = "filename " + base64.b64encode(filename.encode()).decode()
    return client.post("/api/uploads/files/", HTTP_UPLOAD_LENGTH=str(size), HTTP_UPLOAD_METADATA=meta, **TUS)


def tus_patch(client, location: str, data: bytes, *, offset: int):
    return client.generic(
        "PATCH",
        location,
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
    )


def tus_send(client, data: bytes, *, filename: str = "sales.csv", chunk: int = 1 << 20) -> str:
    """Upload `data` whole; returns the upload's key."""
    created = tus_create(client, size=len(data), filename=filename)
    assert created.status_code == 201, created.content
    location = created["Location"]
    for offset in range(0, len(data), chunk):
        answer = tus_patch(client, location, data[offset : offset + chunk], offset=offset)
        assert answer.status_code == 204, answer.content
    return location.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def load_worker(django_db_setup, tmp_path, upload_dir):
    """A real Celery worker on the `load` queue, writing and reading the test's upload directory."""
    from core.testing import CeleryWorkerProcess

    # A report bound the tests can pass with a small file (the page shows 1,000, the CSV 1,100).
    env = {"UPLOAD_DIR": str(upload_dir), "UPLOAD_MIN_FREE_BYTES": "0", "UPLOAD_REPORT_MAX_PROBLEMS": "1100"}
    worker = CeleryWorkerProcess(log_dir=tmp_path, queues="load", env=env)
    worker.start()
    yield worker
    worker.stop()


def job_wait(client, key: str, until, *, timeout: float = 60.0) -> dict:
    """Poll the job as the page does until `until(state)` holds; the last state (fails after `timeout`)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/api/uploads/{key}").json()
        if until(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"upload {key} never reached the expected state; last: {state}")
        time.sleep(0.1)


def table_hold(table: str = "sales_sale"):
    """Another session holding `table` (ACCESS SHARE): a replace load's swap (sales.swap) waits for it, so the
    load stays in the middle of its transaction, at its "written" stage, until the hold is released
    (`.rollback()` and `.close()`)."""
    import psycopg

    from core.testing import test_database_url

    holder = psycopg.connect(test_database_url())
    holder.execute(f"LOCK TABLE {table} IN ACCESS SHARE MODE")
    return holder


UPLOAD_TEST_CHUNK = 64 * 1024
# The general body cap of the test server: below the upload's pieces, so that only an editor's may pass.
GENERAL_TEST_CAP = 16 * 1024


@pytest.fixture
def upload_server(django_db_setup, viewer_token, tmp_path, upload_dir):
    """A real Daphne writing uploads to the test's directory, taking 64 KiB pieces (a small file then
    goes up in several) from editors, and 16 KiB bodies from anyone else."""
    from core.testing import DaphneProcess

    env = {
        "UPLOAD_DIR": str(upload_dir),
        "UPLOAD_MIN_FREE_BYTES": "0",
        "UPLOAD_CHUNK_BYTES": str(UPLOAD_TEST_CHUNK),
        "REQUEST_BODY_MAX_BYTES": str(GENERAL_TEST_CAP),
    }
    server = DaphneProcess(log_dir=tmp_path, headers={"Authorization": f"Token {viewer_token}"}, env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def editor_session(editor) -> str:
    from django.conf import settings
    from django.test import Client

    login = Client()
    login.force_login(editor)
    return login.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def editor_browser(editor_session, viewer_session):
    """Chromium whose pages carry an editor's session (`viewer_cookies` for a viewer's)."""
    from playwright.sync_api import sync_playwright

    from core.testing import Browser, session_cookies

    with sync_playwright() as playwright:
        chromium = Browser(playwright, cookies=session_cookies(session_key=editor_session))
        chromium.viewer_cookies = session_cookies(session_key=viewer_session)
        yield chromium
        chromium.chromium.close()
