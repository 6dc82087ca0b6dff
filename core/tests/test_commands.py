"""The set-up commands of access: the demo login of `make run` and tokens for scripts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def token_create(username: str, **options) -> str:
    out = io.StringIO()
    call_command("access_token_create", username, role="viewer", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue().strip()


def reads_with(token: str) -> int:
    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return scripted.get("/api/stores").status_code


def test_access_token_create_gives_a_new_token_of_its_role_each_time():
    first = token_create("wallscreen")
    assert reads_with(first) == 200
    second = token_create("wallscreen")  # the first cannot be shown again: a second one is made
    assert second != first
    assert reads_with(first) == reads_with(second) == 200


def test_a_token_is_stored_as_a_digest_only():
    from core.models import ApiToken

    token = token_create("wallscreen")
    stored = ApiToken.objects.get()
    assert token not in {stored.digest, stored.prefix} and stored.prefix == token[:8]
    assert token not in repr(list(ApiToken.objects.values()))


def test_a_token_expires():
    import time_machine
    from django.utils import timezone

    token = token_create("wallscreen", expires_days=2)
    assert reads_with(token) == 200
    with time_machine.travel(timezone.now() + timedelta(days=2, seconds=1)):
        assert reads_with(token) == 401


def test_access_token_revoke_revokes_one_or_all():
    from django.core.management.base import CommandError

    kept, revoked = token_create("wallscreen"), token_create("wallscreen")
    out = io.StringIO()
    call_command("access_token_revoke", "wallscreen", prefix=revoked[:8], stdout=out)
    assert "revoked 1 token" in out.getvalue()
    assert (reads_with(kept), reads_with(revoked)) == (200, 401)
    call_command("access_token_revoke", "wallscreen", stdout=io.StringIO())
    assert reads_with(kept) == 401
    with pytest.raises(CommandError, match="no token of 'wallscreen'"):
        call_command("access_token_revoke", "wallscreen", stdout=io.StringIO())


def test_bootstrap_demo_login_keeps_one_password(tmp_path):
    password_file = tmp_path / "demo_password"
    from core.management.commands.bootstrap import demo_password_read
    from core.services import user_in_group_ensure

    password = demo_password_read(path=password_file)
    assert len(password) >= 12 and oct(password_file.stat().st_mode)[-3:] == "600"
    assert demo_password_read(path=password_file) == password
    demo = user_in_group_ensure(username="demo", group="viewer", password=password)
    assert demo.check_password(password)
