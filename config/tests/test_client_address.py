"""The client's address comes from trusted proxies only (core/addresses.py): a made-up
X-Forwarded-For neither escapes the login lockout nor locks anyone else out. Against a real Daphne,
from clients on distinct loopback addresses."""

from __future__ import annotations

import re

import httpx
import pytest
from axes.models import AccessAttempt
from django.conf import settings

from core.addresses import client_address_resolve
from core.services import user_in_group_ensure
from core.testing import DaphneProcess

PASSWORD = "a-long-passphrase-1"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("10.0.0.9", "198.51.100.1", [], "10.0.0.9"),  # no trusted proxy: the header is ignored
        ("203.0.113.5", "198.51.100.1", ["10.0.0.0/8"], "203.0.113.5"),  # not from a trusted proxy
        ("10.0.0.9", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        # The client wrote the first address; the proxy appended the one it saw: that one counts.
        ("10.0.0.9", "1.2.3.4, 198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        # Two proxies of ours: the last untrusted hop.
        ("10.0.0.9", "1.2.3.4, 198.51.100.1, 10.0.0.7", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.9", "10.0.0.3, 10.0.0.7", ["10.0.0.0/8"], "10.0.0.3"),  # all ours: the farthest
        ("10.0.0.9", "junk, 10.0.0.7", ["10.0.0.0/8"], "10.0.0.7"),  # malformed: the last proxy known
        ("10.0.0.9", "", ["10.0.0.0/8"], "10.0.0.9"),
        ("::1", "2001:db8::1", ["::1/128"], "2001:db8::1"),
    ],
)
def test_the_client_is_the_last_untrusted_hop(peer, forwarded, trusted, client):
    assert client_address_resolve(peer=peer, forwarded_for=forwarded, trusted=trusted) == client


def server_start(tmp_path, **env) -> DaphneProcess:
    server = DaphneProcess(log_dir=tmp_path, env=env)
    server.start()
    return server


def login(server: DaphneProcess, *, source: str, password: str, forwarded: str | None = None) -> int:
    """A login through the form (with its CSRF token) from the loopback address `source`."""
    with httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=source), timeout=10) as client:
        form = client.get("/login/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert found is not None, form.text
        token = found.group(1)
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        data = {"username": "ana", "password": password, "csrfmiddlewaretoken": token}
        return client.post("/login/", data=data, headers=headers).status_code


@pytest.fixture
def ana(transactional_db):
    return user_in_group_ensure(username="ana", group="viewer", password=PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_made_up_forwarded_addresses_do_not_escape_the_lockout(ana, tmp_path):
    server = server_start(tmp_path)
    try:
        answers = [
            login(server, source="127.0.0.2", password="wrong", forwarded=f"198.51.100.{n}") for n in range(1, 31)
        ]
        assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
        assert set(answers[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}
        assert login(server, source="127.0.0.2", password=PASSWORD, forwarded="198.51.100.99") == 429
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.2"}
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_a_made_up_address_cannot_lock_the_real_user_out(ana, tmp_path):
    server = server_start(tmp_path)
    try:
        for _ in range(settings.AXES_FAILURE_LIMIT + 3):
            login(server, source="127.0.0.2", password="wrong", forwarded="127.0.0.3")
        assert login(server, source="127.0.0.2", password=PASSWORD) == 429
        assert login(server, source="127.0.0.3", password=PASSWORD) == 302
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_behind_a_trusted_proxy_its_forwarded_address_is_the_client(ana, tmp_path):
    server = server_start(tmp_path, TRUSTED_PROXIES="127.0.0.1")
    try:
        # From the proxy: the address it appended (the client wrote the first one).
        login(server, source="127.0.0.1", password="wrong", forwarded="6.6.6.6, 198.51.100.7")
        # From anywhere else the header is not believed.
        login(server, source="127.0.0.2", password="wrong", forwarded="198.51.100.8")
        addresses = set(AccessAttempt.objects.values_list("ip_address", flat=True))
        assert addresses == {"198.51.100.7", "127.0.0.2"}
    finally:
        server.stop()


def test_the_server_refuses_proxy_headers():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "config.serve", "--proxy-headers", "config.asgi:application"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "--proxy-headers is not taken" in result.stderr
    assert "TRUSTED_PROXIES" in result.stderr
