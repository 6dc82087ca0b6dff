"""Typed readers for environment variables.

Every setting that comes from the environment goes through one of these, so a
missing or malformed value stops start-up with a message that names the
variable and what was wrong with it, instead of a traceback deep in Django.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_label(name: str, default: str, *, max_length: int) -> str:
    """A short name shown to people (a unit such as `units` or `kg`): stripped, 1 to `max_length` characters,
    no control characters."""
    value = os.environ.get(name, default).strip()
    if not value or len(value) > max_length or any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ImproperlyConfigured(f"{name}={value!r} must be 1 to {max_length} printable characters.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or networks (`10.0.0.5, 172.16.0.0/12`), normalised
    (`10.0.0.5/32`); empty when unset."""
    networks = []
    for part in env_list(name, []):
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {part!r} is not an IP address or network (e.g. 10.0.0.0/8).") from None
    return networks


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(f"{name}={raw!r} must start with one of: {', '.join(s + '://' for s in schemes)}.")
    if not parsed.hostname and not parsed.path and "host=" not in (parsed.query or ""):
        raise ImproperlyConfigured(f"{name}={raw!r} names no host.")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} has a malformed port.") from None
    return raw


def env_timezone(name: str, default: str) -> str:
    raw = os.environ.get(name, default).strip()
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a known time zone (e.g. UTC, Europe/Berlin).") from None
    return raw


def env_holiday_country(name: str) -> str:
    """An ISO 3166 country code the `holidays` package knows (upper-cased), or "" when unset or empty."""
    raw = os.environ.get(name, "").strip().upper()
    if not raw:
        return ""
    import holidays  # only when a country is set: the package is a few hundred modules

    if raw not in holidays.list_supported_countries():
        raise ImproperlyConfigured(f"{name}={raw!r} is not a country the holidays package knows (e.g. US, GB, DE).")
    return raw


def env_hours(name: str, default: str) -> tuple[int, int]:
    """Opening hours "HH:MM-HH:MM" as (opens, closes) in minutes after midnight; closes may be 24:00."""
    raw = os.environ.get(name, default).strip()
    try:
        opens, closes = (part.strip() for part in raw.split("-"))
        minutes = []
        for part in (opens, closes):
            hours, mins = part.split(":")
            minutes.append(int(hours) * 60 + int(mins))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not HH:MM-HH:MM (e.g. 08:00-21:00).") from None
    if not 0 <= minutes[0] < minutes[1] <= 24 * 60:
        raise ImproperlyConfigured(f"{name}={raw!r}: the opening must come before the closing, within one day.")
    return minutes[0], minutes[1]


def database_url() -> str:
    """DATABASE_URL if set, else one assembled from the POSTGRES_* variables."""
    if os.environ.get("DATABASE_URL"):
        return env_url("DATABASE_URL", "", schemes=("postgres", "postgresql"))
    user = env_str("POSTGRES_USER", "salesuser")
    password = env_str("POSTGRES_PASSWORD", "salespass")
    host = env_str("POSTGRES_HOST", "localhost")
    port = env_int("POSTGRES_PORT", 5432, minimum=1, maximum=65535)
    name = env_str("POSTGRES_DB", "salesdb")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{name}"
