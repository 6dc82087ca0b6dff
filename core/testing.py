"""Shared test helpers (plain functions and classes; the fixtures that use them live in the
conftest.py files, and no test imports from a conftest).

Real processes: a Daphne serving the project and a Celery worker, both pointed at the test
database that pytest-django created. Tests that use them must commit their data
(``django_db(transaction=True)``), because another process cannot see an open test transaction.

Test data: `history_load`, the one way a test generates and loads a sales history.
The browser: Chromium, `in_thread` for ORM calls beside Playwright, `screenshot`.
The clock: every test starts at `clock_start()` (root conftest.py); the processes a test spawns and the
browser's pages read the same travelled clock (`clock_env`, `Browser.page`).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import time_machine
from django.conf import settings
from django.utils import timezone

from core.devstack import chromium_path, free_port

if TYPE_CHECKING:
    import pandas as pd

    from sales.services import LoadSummary

BASE_DIR = Path(__file__).resolve().parent.parent
SCREENSHOTS = BASE_DIR / "artifacts" / "screenshots"


def test_database_url() -> str:
    """DATABASE_URL of the database the test process is using right now (test_*)."""
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "localhost"
    if host.startswith("/"):
        host = quote(host, safe="")  # a socket directory (embedded pgserver)
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def process_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            # Child processes run with DEBUG off, so they need a real-looking key whatever the test process has.
            "SECRET_KEY": settings.SECRET_KEY
            if len(settings.SECRET_KEY) >= 32
            else "test-" + secrets.token_urlsafe(40),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "STREAMING_INTERVAL_SECONDS": str(settings.STREAMING_INTERVAL_SECONDS),
            "FORECAST_DAYS": str(settings.FORECAST_DAYS),
            "TIME_ZONE": settings.TIME_ZONE,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(clock_env(env))
    env.update(overrides or {})
    return env


class ManagedProcess:
    """A child process with a start/stop life cycle and its output kept in a log file."""

    name = "process"

    def __init__(self, *, env: Mapping[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.env_overrides = dict(env or {})
        self.log_path = (log_dir or Path(tempfile.gettempdir())) / f"{self.name}-{os.getpid()}-{id(self)}.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    def start(self, *, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=BASE_DIR,
            env=process_env(self.env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes pool and beat children with it
        )
        try:
            self.wait_ready(timeout)
        except Exception:
            self.stop()
            raise

    def stop(self, *, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=timeout)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the process and its children at once: a crash, with no warm shutdown and nothing
        acknowledged or cleaned up."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=20)
            self.process = None

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.log()[-4000:]}")


class DaphneProcess(ManagedProcess):
    """Daphne serving config.asgi on 127.0.0.1; keeps its port across restarts."""

    name = "daphne"

    def __init__(self, *, port: int | None = None, headers: Mapping[str, str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.port = port or free_port()
        # What get()/post() send: the test fixtures put a viewer's token here (root conftest.py).
        self.headers = dict(headers or {})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs) -> httpx.Response:
        """GET `path` on this server with self.headers (a viewer's token in the tests)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs) -> httpx.Response:
        kwargs.setdefault("timeout", 10)
        return httpx.request(method, f"{self.url}{path}", headers={**self.headers, **(headers or {})}, **kwargs)

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "config.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "config.asgi:application",
        ]

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                httpx.get(f"{self.url}/api/stores", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"daphne did not answer on {self.url} within {timeout}s:\n{self.log()[-4000:]}")


class CeleryWorkerProcess(ManagedProcess):
    """A real Celery worker (optionally with embedded beat on the database scheduler)."""

    name = "celery"

    def __init__(self, *, beat: bool = False, concurrency: int = 1, queues: str = "live,forecast", **kwargs) -> None:
        super().__init__(**kwargs)
        self.beat = beat
        self.queues = queues
        self.concurrency = concurrency
        self.hostname = f"test-{os.getpid()}-{id(self)}@%h"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.concurrency),
            "-Q",
            self.queues,
            "--hostname",
            self.hostname,
            "--without-gossip",
            "--without-mingle",
        ]
        if self.beat:
            cmd += [
                "-B",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--schedule",
                str(self.log_path.with_suffix(".beat")),
            ]
        return cmd

    def start(self, *, timeout: float = 60.0) -> None:
        from config.celery import app

        # Messages queued by earlier tests must not run against this test's data.
        app.control.purge()
        super().start(timeout=timeout)

    def wait_ready(self, timeout: float) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if app.control.ping(timeout=0.5):
                return
        raise TimeoutError(f"celery worker did not answer a ping within {timeout}s:\n{self.log()[-4000:]}")


# ---------------------------------------------------------------- the clock

# An instant (ISO 8601 with its offset) that every test starts at instead of the default, e.g.
# TEST_CLOCK=2026-03-29T01:55:00+01:00 make test. Keep it within a week or so of the real date: Chromium
# expires cookies by the real clock.
CLOCK_ENV = "TEST_CLOCK"
# Seconds between the travelled and the real clock, for the processes a test spawns (core/clockhook).
CLOCK_OFFSET_ENV = "TEST_CLOCK_OFFSET_SECONDS"
CLOCK_HOOK_DIR = Path(__file__).resolve().parent / "clockhook"
# The default start: a Wednesday mid-morning in TIME_ZONE, far from midnight and from a week's ends.
CLOCK_WEEKDAY, CLOCK_TIME = 2, clock_time(10, 30)


def clock_start() -> datetime:
    """The instant a test starts at: TEST_CLOCK when set, otherwise the latest Wednesday 10:30 in TIME_ZONE
    before the real now (so the date stays within a week of the real one, and the weekday and the hour
    never depend on when the suite runs)."""
    if os.environ.get(CLOCK_ENV):
        instant = datetime.fromisoformat(os.environ[CLOCK_ENV])
        if instant.tzinfo is None:
            raise ValueError(f"{CLOCK_ENV}={os.environ[CLOCK_ENV]!r} needs an offset (e.g. +00:00)")
        return instant
    zone = timezone.get_default_timezone()
    today = datetime.fromtimestamp(_real_time(), tz=zone).date()
    day = today - timedelta(days=(today.weekday() - CLOCK_WEEKDAY) % 7 or 7)
    return datetime.combine(day, CLOCK_TIME, tzinfo=zone)


def _real_time() -> float:
    hatch = time_machine.escape_hatch
    return hatch.time.time() if hatch.is_travelling() else time.time()


def clock_env(env: Mapping[str, str]) -> dict[str, str]:
    """What a child process needs to read the test's clock: the travelled clock's offset from the real one,
    and core/clockhook (whose sitecustomize travels by it) first on its PYTHONPATH. Nothing outside a
    travelled test (the benchmarks' servers run on the real clock)."""
    if not time_machine.escape_hatch.is_travelling():
        return {}
    offset = time.time() - _real_time()
    path = os.pathsep.join(part for part in (str(CLOCK_HOOK_DIR), env.get("PYTHONPATH", "")) if part)
    return {CLOCK_OFFSET_ENV: f"{offset:.6f}", "PYTHONPATH": path}


@dataclass(frozen=True)
class ClockInstant:
    """One instant of the clock matrix: a wall-clock `moment` in `zone` (which the test's TIME_ZONE becomes).
    `fold=1` is the second of a wall-clock time that a daylight-saving change repeats."""

    zone: str
    moment: datetime
    label: str

    @property
    def local(self) -> datetime:
        return self.moment.astimezone(ZoneInfo(self.zone))


def _instant(zone: str, day: date, at: clock_time, label: str, *, fold: int = 0) -> ClockInstant:
    moment = datetime.combine(day, at, tzinfo=ZoneInfo(zone)).replace(fold=fold)
    return ClockInstant(zone=zone, moment=moment.astimezone(UTC), label=f"{zone}-{day:%a-%m-%d}-{label}")


# What `clock_matrix` tests run at: each weekday just after midnight, at midday and just before midnight,
# and around both daylight-saving changes of a zone that has them (Europe/Berlin: the last Sundays of
# March, 02:00 -> 03:00, and of October, 03:00 -> 02:00, so 02:30 happens twice).
_WEEK = [date(2026, 11, 23) + timedelta(days=k) for k in range(7)]
_HOURS = {"00:05": clock_time(0, 5), "12:00": clock_time(12, 0), "23:55": clock_time(23, 55)}
CLOCK_MATRIX = [
    *(_instant("UTC", day, at, label) for day in _WEEK for label, at in _HOURS.items()),
    _instant("Europe/Berlin", date(2026, 3, 29), clock_time(0, 5), "00:05"),
    _instant("Europe/Berlin", date(2026, 3, 29), clock_time(3, 5), "03:05-summer"),
    _instant("Europe/Berlin", date(2026, 3, 29), clock_time(23, 55), "23:55"),
    _instant("Europe/Berlin", date(2026, 3, 30), clock_time(0, 5), "00:05-after"),
    _instant("Europe/Berlin", date(2026, 10, 25), clock_time(0, 5), "00:05"),
    _instant("Europe/Berlin", date(2026, 10, 25), clock_time(2, 30), "02:30-first"),
    _instant("Europe/Berlin", date(2026, 10, 25), clock_time(2, 30), "02:30-second", fold=1),
    _instant("Europe/Berlin", date(2026, 10, 25), clock_time(23, 55), "23:55"),
]


# ---------------------------------------------------------------- test data


@dataclass(frozen=True)
class History:
    """A history `history_load` wrote: the rows as generated (before any alignment) and the loader's summary."""

    frame: pd.DataFrame
    summary: LoadSummary


def history_load(
    tmp_path: Path,
    *,
    stores: int = 2,
    items: int = 3,
    start: date = date(2016, 1, 1),
    end: date = date(2017, 12, 31),
    seed: int = 42,
    align_to_today: bool = True,
    edit: Callable[[pd.DataFrame], Any] | None = None,
) -> History:
    """Generate a realistic history (sales.sample) of `stores` x `items` from `start` to `end` and load it
    with the production loader (COPY, rollups rebuilt; no follow-up tasks). `edit(frame)` may change the
    generated rows in place before the load. With `align_to_today` the dates move by whole weeks so the last
    one is in the week before today, and the days up to today are filled (see sales_load_csv)."""
    import pandas as pd

    from sales.sample import sample_generate
    from sales.services import sales_load_csv

    path = tmp_path / "history.csv"
    sample_generate(path=path, stores=stores, items=items, start=start, end=end, seed=seed)
    frame = pd.read_csv(path, parse_dates=["date"])
    if edit is not None:
        edit(frame)
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    summary = sales_load_csv(path=path, align_to_today=align_to_today, followups=False)
    return History(frame=frame, summary=summary)


# ---------------------------------------------------------------- the browser

CHROMIUM = chromium_path()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    """One Chromium (Debian's, driven by Playwright) for a test; pages record console errors and
    uncaught exceptions in `page.errors`. Pages carry `cookies` (a viewer's session in the tests)
    unless opened with anonymous=True."""

    def __init__(self, playwright, *, cookies: list[dict] | None = None) -> None:
        if not CHROMIUM.exists():
            raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
        self.chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        self.cookies = list(cookies or [])

    def page(self, *, width: int = 1440, height: int = 900, scheme: str = "light", anonymous: bool = False):
        context = self.chromium.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme, locale="en-US", timezone_id="UTC"
        )
        if self.cookies and not anonymous:
            context.add_cookies(self.cookies)
        # The page's Date starts at the test's travelled clock and runs on from there (timers run as usual).
        context.clock.install(time=datetime.now(UTC))
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(_console_describe(m)))
        page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
        return page


def _console_describe(message) -> str:
    url = (message.location or {}).get("url", "")
    return f"{message.text} ({url})" if url else message.text


def session_cookies(*, session_key: str) -> list[dict]:
    """A Django session cookie for every host name the test servers answer on (cookies ignore ports)."""
    return [
        {"name": settings.SESSION_COOKIE_NAME, "value": session_key, "domain": host, "path": "/"}
        for host in ("127.0.0.1", "localhost")
    ]


def in_thread(fn, /, *args, **kwargs):
    """Run `fn` on a fresh thread and return its result: Playwright's sync API keeps an asyncio loop
    running on the test's thread, where Django refuses ORM calls; a fresh thread has none."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of `page` as artifacts/screenshots/<name>.png (for a person to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# axe-core (npm, devDependency), injected by the tests only: the pages never ship it. `make install` puts it there.
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_BLOCKING = frozenset({"serious", "critical"})


def axe_install(page) -> None:
    """axe-core in every document the page opens. An init script, not a <script> tag: the page's
    Content-Security-Policy rightly refuses an inline script, and the page itself never serves axe."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make install` (npm ci installs axe-core)")
    page.add_init_script(path=str(AXE))


def axe_violations(page, *, impacts: frozenset[str] | None = AXE_BLOCKING) -> list[str]:
    """Violations on the page as it is now (of `impacts`; None: every one), one line each with where."""
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results["violations"]
        if impacts is None or v["impact"] in impacts
    ]
