"""Production start-up and answers: no warning about a missing staticfiles/ (the files come from the apps
without collectstatic), the browsable API off with DEBUG off, and a Content-Security-Policy on the pages."""

from __future__ import annotations

import warnings

import pytest
from django.test import override_settings

from config.middleware import StaticFilesMiddleware


def test_no_warning_for_a_static_root_that_was_never_collected(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path / "staticfiles"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        StaticFilesMiddleware(lambda request: None)
    assert [str(w.message) for w in caught] == []


def test_a_collected_static_root_is_still_served(tmp_path):
    root = tmp_path / "staticfiles"
    (root / "frontend").mkdir(parents=True)
    (root / "frontend" / "collected.css").write_text("body{}")
    with override_settings(STATIC_ROOT=root):
        middleware = StaticFilesMiddleware(lambda request: None)
    assert "/static/frontend/collected.css" in middleware.files


@pytest.mark.django_db
def test_the_api_answers_json_to_a_browser_with_debug_off(client):
    response = client.get("/api/stores", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/login/", "/api/docs/", "/admin/login/"])
def test_pages_carry_a_content_security_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
