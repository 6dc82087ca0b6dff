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
