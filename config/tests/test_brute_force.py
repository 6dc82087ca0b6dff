"""Brute force: repeated wrong passwords on the login page and the admin's lock the address out
(django-axes) until the cool-off has passed or an administrator resets it; repeated bad tokens from
one client are throttled (429) in the shared cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.services import access_token_create, user_in_group_ensure

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-1"


@pytest.fixture
def ana(db):
    return user_in_group_ensure(username="ana", group="viewer", password=PASSWORD)


def attempt(client, url: str, password: str):
    return client.post(url, {"username": "ana", "password": password})


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_address_out_then_a_reset_lets_the_right_one_in(ana, anonymous_client, url):
    ana.is_staff = True  # the admin's login takes staff only
    ana.save(update_fields=["is_staff"])
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(anonymous_client, url, "wrong").status_code == 200  # the form again, with its error
    locked = attempt(anonymous_client, url, "wrong")
    assert locked.status_code == 429
    assert b"Too many attempts" in locked.content
    # Locked: the right password is refused too, and another user from the same address as well.
    assert attempt(anonymous_client, url, PASSWORD).status_code == 429
    call_command("axes_reset", verbosity=0)
    signed_in = attempt(anonymous_client, url, PASSWORD)
    assert signed_in.status_code == 302
    assert anonymous_client.get("/api/stores").status_code == 200


def test_the_lock_lifts_after_the_cool_off(ana, anonymous_client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(anonymous_client, "/login/", "wrong")
    assert attempt(anonymous_client, "/login/", PASSWORD).status_code == 429
    # The cool-off has passed (the attempts are dated back rather than the test waiting for it).
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert attempt(anonymous_client, "/login/", PASSWORD).status_code == 302


def test_a_lock_is_per_address(ana):
    attacker = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(attacker, "/login/", "wrong")
    assert attempt(attacker, "/login/", PASSWORD).status_code == 429
    assert attempt(APIClient(REMOTE_ADDR="198.51.100.2"), "/login/", PASSWORD).status_code == 302


def test_bad_tokens_are_throttled_per_client_and_a_good_one_works_again_after(ana):
    from core.throttling import TokenFailureThrottle

    good = access_token_create(user=ana)
    limit = TokenFailureThrottle().num_requests
    guesser = APIClient(REMOTE_ADDR="203.0.113.9")
    for n in range(limit):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token guess-{n}")
        assert guesser.get("/api/stores").status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION="Token guess-again")
    throttled = guesser.get("/api/stores")
    assert throttled.status_code == 429
    assert throttled.json()["error"].startswith("too many failed token authentications")
    assert int(throttled["Retry-After"]) >= 1
    # Locked out whatever it sends now; the stream refuses it the same way; other clients are not affected.
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert guesser.get("/api/stores").status_code == 429
    ingest = guesser.post("/api/sales/ingest", {"rows": [{"store": 1, "item": 1, "quantity": 1}]}, format="json")
    assert ingest.status_code == 429
    stream = guesser.get("/api/stream/status")
    assert stream.status_code == 429
    assert stream.json()["error"].split(".")[0] == throttled.json()["error"].split(".")[0]
    assert "Expected available in" in throttled.json()["error"] and int(stream["Retry-After"]) >= 1
    other = APIClient(REMOTE_ADDR="198.51.100.3")
    other.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert other.get("/api/stores").status_code == 200
    # The window moved on (its counts are dropped rather than the test waiting): the good token works.
    TokenFailureThrottle().failures_forget(guesser.get("/health").wsgi_request)
    assert guesser.get("/api/stores").status_code == 200


def test_a_lock_is_per_user_and_address_so_another_user_there_still_signs_in(ana):
    user_in_group_ensure(username="bo", group="viewer", password=PASSWORD)
    shared = APIClient(REMOTE_ADDR="203.0.113.8")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(shared, "/login/", "wrong")
    assert attempt(shared, "/login/", PASSWORD).status_code == 429
    assert shared.post("/login/", {"username": "bo", "password": PASSWORD}).status_code == 302


def test_failed_tokens_are_counted_atomically_from_many_threads_at_once(ana):
    # A read-then-write count loses failures that land together; an increment does not.
    from concurrent.futures import ThreadPoolExecutor

    from django.test import RequestFactory

    from core.throttling import TokenFailureThrottle

    request = RequestFactory().get("/api/stores", REMOTE_ADDR="203.0.113.10")
    throttle = TokenFailureThrottle()
    throttle.failures_forget(request)

    def fail_five(_):
        for _ in range(5):
            TokenFailureThrottle().failure_record(request)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(fail_five, range(16)))
    assert throttle.failures_count(request) == 80
    assert throttle.retry_after(request) >= 1


def test_signed_in_users_are_throttled_per_user(ana, monkeypatch):
    from core.throttling import AvailableUserRateThrottle

    monkeypatch.setattr(AvailableUserRateThrottle, "rate", "3/minute", raising=False)
    token = access_token_create(user=ana)
    first = APIClient(REMOTE_ADDR="198.51.100.20")
    first.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert [first.get("/api/stores").status_code for _ in range(3)] == [200, 200, 200]
    # The same user from elsewhere counts against the same budget; another user does not.
    second = APIClient(REMOTE_ADDR="198.51.100.21")
    second.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert second.get("/api/stores").status_code == 429
    bo = user_in_group_ensure(username="bo", group="viewer")
    other = APIClient(REMOTE_ADDR="198.51.100.20")
    other.credentials(HTTP_AUTHORIZATION=f"Token {access_token_create(user=bo)}")
    assert other.get("/api/stores").status_code == 200
