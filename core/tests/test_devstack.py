"""`make test` sets up what the suite needs, or says in one line what to install."""

from pathlib import Path

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
