"""Start-up refuses unsafe or malformed configuration with one clear line."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(50)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "DATABASE_URL", "REDIS_URL", "LANG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=base | env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY is missing, a placeholder"),
        ({"DEBUG": "false", "SECRET_KEY": "change-me"}, "SECRET_KEY is missing, a placeholder"),
        ({"DEBUG": "false", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        (
            {"DEBUG": "true", "STREAMING_INTERVAL_SECONDS": "1m"},
            "STREAMING_INTERVAL_SECONDS='1m' is not a whole number",
        ),
        ({"DEBUG": "true", "FORECAST_DAYS": "-3"}, "FORECAST_DAYS=-3 is below the minimum of 1"),
        ({"DEBUG": "true", "REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with one of"),
        ({"DEBUG": "true", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL='mysql://x@y/z' must start with one of"),
        ({"DEBUG": "yes please"}, "DEBUG='yes please' is not a boolean"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_line(env, message):
    result = manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="sales.example.com",
        HTTPS_ONLY="true",
        BEHIND_TLS_PROXY="true",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_env_example_lists_every_variable_the_settings_read():
    # A newcomer configures from .env.example: a setting missing there is a setting nobody finds.
    import re

    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', (BASE_DIR / "config" / "settings.py").read_text()))
    read |= set(re.findall(r'"(POSTGRES_[A-Z]+)"', (BASE_DIR / "config" / "env.py").read_text()))
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), flags=re.MULTILINE))
    assert len(read) > 20
    assert read - listed == set()
