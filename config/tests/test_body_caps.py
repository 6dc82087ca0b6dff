"""Request bodies over their route's cap get a JSON 413 before they are read (core/limits.py,
config/serve.py): from a real Daphne, to a raw client that declares or streams more than the cap."""

from __future__ import annotations

import json
import socket

import psutil
import pytest
from channels.testing import HttpCommunicator
from django.conf import settings

from core.limits import BodyCapMiddleware, body_cap_register, body_cap_unregister
from core.testing import DaphneProcess

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


@pytest.fixture
def capped_server(django_db_setup, tmp_path):
    """Daphne with its temporary files in a directory of the test's own, so that a body written to
    disk would show."""
    tmp = tmp_path / "server-tmp"
    tmp.mkdir()
    server = DaphneProcess(log_dir=tmp_path, env={"TMPDIR": str(tmp)})
    server.start()
    server.tmp = tmp
    yield server
    server.stop()


def raw_request(server: DaphneProcess, head: str, *, body_bytes: int = 0, chunked: bool = False) -> tuple[int, dict]:
    """Send `head`, then up to `body_bytes` of body (or until the server closes); return the status
    and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head.encode() + b"\r\n")
        block = b"0" * (256 * 1024)
        sent = 0
        try:
            while sent < body_bytes:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what we are here to see
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(body)


def rss(server: DaphneProcess) -> int:
    assert server.process is not None
    return psutil.Process(server.process.pid).memory_info().rss


def test_a_200_mb_declared_body_is_refused_at_once_and_nothing_is_stored(capped_server):
    before = rss(capped_server)
    head = f"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {200 * MB}\r\n"
    status, answer = raw_request(capped_server, head)  # the headers only: the answer must not wait for the body
    assert status == 413
    assert answer == {
        "error": f"the request body is larger than this route takes ({settings.REQUEST_BODY_MAX_BYTES} bytes).",
        "parameter": "body",
    }
    # The same, with the client sending its body regardless (as far as the server lets it).
    status, _ = raw_request(capped_server, head, body_bytes=200 * MB)
    assert status == 413
    assert rss(capped_server) - before < 30 * MB
    assert list(capped_server.tmp.iterdir()) == []
    assert "body_refused path=/login/" in capped_server.log()


def test_a_body_without_a_length_is_cut_at_the_cap(capped_server):
    before = rss(capped_server)
    head = "POST /api/stores HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    status, answer = raw_request(capped_server, head, body_bytes=200 * MB, chunked=True)
    assert status == 413
    assert answer["parameter"] == "body"
    assert rss(capped_server) - before < 30 * MB
    assert list(capped_server.tmp.iterdir()) == []


def test_a_route_with_a_larger_cap_takes_its_body_and_a_small_body_passes(capped_server):
    # The ingest registers INGEST_MAX_BODY_BYTES: a body over the default but under that reaches the
    # view, which refuses it for having no token (not for its size).
    big = "[" + " " * (2 * MB) + "]"
    response = capped_server.post("/api/sales/ingest", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    over = " " * (settings.INGEST_MAX_BODY_BYTES + 1)
    response = capped_server.post("/api/sales/ingest", content=over, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    # A small body anywhere is read as usual (a login form with the wrong password: the form again).
    response = capped_server.post("/login/", data={"username": "nobody", "password": "x"})
    assert response.status_code == 403  # no CSRF token: Django's own answer, after reading the body


def test_a_registered_cap_sees_the_scope():
    # The ASGI middleware (for servers other than ours) asks the same registry.
    from config.asgi import http_application

    seen = []

    async def cap(scope):
        seen.append(scope["path"])
        return 10

    body_cap_register(path_prefix="/api/capped-test", cap=cap)
    try:
        app = BodyCapMiddleware(http_application)
        response = _communicate(app, "/api/capped-test/x", body=b"x" * 11)
        assert response["status"] == 413
        assert json.loads(response["body"])["error"].endswith("(10 bytes).")
        assert seen == ["/api/capped-test/x"]
    finally:
        body_cap_unregister(path_prefix="/api/capped-test")


def _communicate(app, path: str, *, body: bytes) -> dict:
    from asgiref.sync import async_to_sync

    communicator = HttpCommunicator(
        app, "POST", path, body=body, headers=[(b"content-length", str(len(body)).encode())]
    )
    return async_to_sync(communicator.get_response)()
