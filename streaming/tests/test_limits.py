"""Request limits: an ingest body over the limit gets a JSON 413 naming it (a warning in the log, no
traceback), too many rows the row-limit message; live streams are capped per client and per process
with a JSON 429."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from django.test import override_settings

from streaming.api import MAX_INGEST_ROWS

ROW = {"store": 1, "item": 1, "quantity": 1}


def rows_body(count: int) -> str:
    return json.dumps({"rows": [ROW] * count})


@pytest.mark.django_db
@override_settings(INGEST_MAX_BODY_BYTES=2048)
def test_an_ingest_body_over_the_limit_gets_a_413_naming_it(ingest_client, caplog):
    body = rows_body(100)  # ~4 KB
    with caplog.at_level(logging.WARNING):
        response = ingest_client.post("/api/sales/ingest", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "error": f"request body is {len(body):,} bytes, over the limit of 2,048 bytes (INGEST_MAX_BODY_BYTES)"
    }
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING and record.exc_info is None and "request_too_large" in record.getMessage()


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_djangos_own_cap_gets_the_same_413_not_an_html_400(ingest_client, caplog):
    with caplog.at_level(logging.WARNING):
        response = ingest_client.post("/api/sales/ingest", rows_body(100), content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "request body over the limit of 2,048 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"}
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == ["WARNING"]
    assert all(r.exc_info is None for r in caplog.records)


@pytest.mark.django_db
def test_a_hundred_thousand_rows_get_the_row_limit_message(ingest_client):
    response = ingest_client.post("/api/sales/ingest", rows_body(100_000), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["parameter"] == "rows"
    assert f"no more than {MAX_INGEST_ROWS}" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_live_streams_are_capped_per_client_and_per_process(small_history, viewer_token, tmp_path, sse):
    from core.services import access_token_create, user_in_group_ensure
    from core.testing import DaphneProcess

    other_token = access_token_create(user=user_in_group_ensure(username="wall", group="viewer"))
    server = DaphneProcess(
        env={"STREAMING_MAX_PER_CLIENT": "2", "STREAMING_MAX_PER_PROCESS": "3"},
        log_dir=tmp_path,
        headers={"Authorization": f"Token {viewer_token}"},
    )
    server.start()
    try:
        url = f"{server.url}/api/stream"
        first, _second = sse(url), sse(url)  # as the viewer
        for listener in (first, _second):
            listener.next(event="metrics")
        third = server.get("/api/stream")
        assert third.status_code == 429
        assert third.json() == {
            "error": "this client has 2 open streams, its limit (STREAMING_MAX_PER_CLIENT): "
            "close one before opening another"
        }
        assert int(third.headers["Retry-After"]) >= 1
        wall = {"Authorization": f"Token {other_token}"}
        sse(url, anonymous=True, headers=wall).next(event="metrics")  # another client: its own count
        full = httpx.get(url, headers=wall, timeout=5)
        assert full.status_code == 429
        assert full.json()["error"].startswith("this server has 3 open streams, its limit (STREAMING_MAX_PER_PROCESS)")
        # A stream that ends gives its place back.
        first.close()
        replacement = None
        for _attempt in range(50):
            if server.get("/api/stream/status").json()["open_streams"] == 2:
                replacement = sse(url)
                break
            time.sleep(0.1)
        assert replacement is not None and replacement.response.status_code == 200
    finally:
        server.stop()
