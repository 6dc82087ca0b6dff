"""The set-up commands of access: the demo login of `make run` and tokens for scripts."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_access_token_create_gives_a_token_of_its_role():
    out = io.StringIO()
    call_command("access_token_create", "wallscreen", role="viewer", stdout=out)
    token = out.getvalue().strip()
    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert scripted.get("/api/stores").status_code == 200
    again = io.StringIO()
    call_command("access_token_create", "wallscreen", role="viewer", stdout=again)
    assert again.getvalue().strip() == token


def test_bootstrap_demo_login_keeps_one_password(tmp_path):
    password_file = tmp_path / "demo_password"
    from core.management.commands.bootstrap import demo_password_read
    from core.services import user_in_group_ensure

    password = demo_password_read(path=password_file)
    assert len(password) >= 12 and oct(password_file.stat().st_mode)[-3:] == "600"
    assert demo_password_read(path=password_file) == password
    demo = user_in_group_ensure(username="demo", group="viewer", password=password)
    assert demo.check_password(password)
