import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env


def test_env_int_names_the_variable_when_malformed(monkeypatch):
    monkeypatch.setenv("STREAMING_INTERVAL_SECONDS", "soon")
    with pytest.raises(ImproperlyConfigured, match="STREAMING_INTERVAL_SECONDS='soon' is not a whole number"):
        env.env_int("STREAMING_INTERVAL_SECONDS", 60)


def test_env_int_enforces_bounds(monkeypatch):
    monkeypatch.setenv("FORECAST_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="FORECAST_DAYS=0 is below the minimum of 1"):
        env.env_int("FORECAST_DAYS", 30, minimum=1)


def test_env_bool_rejects_junk(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env.env_bool("DEBUG", False)


def test_env_url_rejects_wrong_scheme(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL='http://localhost:6379' must start with one of"):
        env.env_url("REDIS_URL", "redis://localhost", schemes=("redis", "rediss"))


def test_database_url_is_built_from_postgres_variables(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("POSTGRES_USER", "u")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p")
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("POSTGRES_PORT", "6543")
    monkeypatch.setenv("POSTGRES_DB", "sales")
    assert env.database_url() == "postgres://u:p@db:6543/sales"


def test_timezone_must_be_known(monkeypatch):
    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE='Mars/Olympus' is not a known time zone"):
        env.env_timezone("TIME_ZONE", "UTC")


def test_holiday_country_is_off_by_default_and_must_be_known(monkeypatch):
    monkeypatch.delenv("HOLIDAY_COUNTRY", raising=False)
    assert env.env_holiday_country("HOLIDAY_COUNTRY") == ""
    monkeypatch.setenv("HOLIDAY_COUNTRY", " us ")
    assert env.env_holiday_country("HOLIDAY_COUNTRY") == "US"
    monkeypatch.setenv("HOLIDAY_COUNTRY", "Atlantis")
    with pytest.raises(ImproperlyConfigured, match="HOLIDAY_COUNTRY='ATLANTIS' is not a country"):
        env.env_holiday_country("HOLIDAY_COUNTRY")


def test_opening_hours_are_read_as_minutes_and_bad_ones_named(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_hours

    monkeypatch.setenv("ALERTS_OPENING_HOURS", "08:30-24:00")
    assert env_hours("ALERTS_OPENING_HOURS", "00:00-24:00") == (510, 1440)
    for bad in ("8-20", "20:00-08:00", "08:00"):
        monkeypatch.setenv("ALERTS_OPENING_HOURS", bad)
        with pytest.raises(ImproperlyConfigured, match="ALERTS_OPENING_HOURS"):
            env_hours("ALERTS_OPENING_HOURS", "00:00-24:00")
