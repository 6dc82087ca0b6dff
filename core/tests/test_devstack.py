"""`make test` sets up what the suite needs, or says in one line what to install."""

from pathlib import Path

import pytest

from core.devstack import chromium_path, ensure_chromium


def test_a_missing_chromium_that_cannot_be_installed_is_named_in_one_line(tmp_path):
    missing = tmp_path / "chromium"
    problem = ensure_chromium(path=missing, can_install=False)
    assert problem is not None
    assert "\n" not in problem
    assert str(missing) in problem
    assert "apt-get install chromium" in problem


def test_an_installed_chromium_needs_nothing(tmp_path):
    present = tmp_path / "chromium"
    present.write_text("")
    assert ensure_chromium(path=present, can_install=False) is None
    assert ensure_chromium(path=present, can_install=True) is None


def test_the_browser_tests_look_where_make_test_checks(monkeypatch):
    from core.testing import CHROMIUM

    assert chromium_path() == CHROMIUM
    monkeypatch.setenv("CHROMIUM_PATH", "/opt/chromium")
    assert chromium_path() == Path("/opt/chromium")


@pytest.mark.parametrize(
    ("host", "debug", "refused"),
    [
        ("127.0.0.1", True, False),
        ("localhost", True, False),
        ("::1", True, False),
        ("[::1]", True, False),
        ("0.0.0.0", True, True),
        ("192.168.1.20", True, True),
        ("dev.example.com", True, True),
        ("0.0.0.0", False, False),
    ],
)
def test_make_run_refuses_to_serve_beyond_this_machine_with_debug_on(host, debug, refused):
    from core.devstack import debug_exposure_refusal

    refusal = debug_exposure_refusal(host=host, debug=debug)
    assert (refusal is not None) == refused
    if refused:
        assert f"HOST={host}" in refusal and "DEBUG" in refusal


def test_make_run_stops_before_starting_anything_when_it_refuses():
    import os
    import subprocess
    import sys

    env = {**os.environ, "HOST": "0.0.0.0", "DEBUG": "true", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "core.devstack", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "refusing to serve on HOST=0.0.0.0 with DEBUG on" in result.stderr
