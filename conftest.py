"""Fixtures shared by every app's tests. The suite runs against real PostgreSQL
and Redis (DATABASE_URL / REDIS_URL, or the embedded ones `make test` starts).

Logged in by default: pytest-django's `client`, `api_client` (DRF), the Daphne servers
(`daphne_server.get(...)` sends a viewer's token), the SSE listeners and the browser's pages
(a viewer's session) act as a member of the viewer group. For the refusals: `anonymous_client`,
`ingest_client` (a token of the ingest group, which may write but not read), `staff_client`,
`browser.page(anonymous=True)` and raw httpx calls without headers.

On a controlled clock: every test starts at the same weekday and hour (core.testing.clock_start, or the
TEST_CLOCK instant), and its clock ticks on from there; the processes it spawns and its browser pages share
it. A test that needs another instant travels there itself (time_machine), or is marked `clock_matrix`
and runs at each instant of CLOCK_MATRIX (fixture `clock_instant`).
"""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache

VIEWER_USERNAME = "viewer"


def cache_clear() -> None:
    """Empty the cache (throttle counters) without touching the rest of Redis: it shares REDIS_URL's
    database with Celery and the stream, which cache.clear() (FLUSHDB) would wipe."""
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # RedisCache's client: not in the stubs
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _controlled_clock():
    """The machine's clock never decides a test's weekday or hour: each test starts at clock_start()."""
    from core.testing import clock_start

    with time_machine.travel(clock_start(), tick=True):
        yield


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("clock_matrix"):
        from core.testing import CLOCK_MATRIX

        metafunc.parametrize("clock_instant", CLOCK_MATRIX, ids=[i.label for i in CLOCK_MATRIX], indirect=True)


@pytest.fixture
def clock_instant(request, settings):
    """For `clock_matrix` tests: TIME_ZONE set to the instant's zone and the clock stopped at it
    (core.testing.ClockInstant; travel on with time_machine.move_to)."""
    instant = request.param
    settings.TIME_ZONE = instant.zone
    with time_machine.travel(instant.moment, tick=False):
        yield instant


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    # Throttles count in the cache; tests must not throttle each other.
    cache_clear()
    yield


# ---------------------------------------------------------------- users and clients


def _user_in_group(*, username: str, group: str, **fields):
    # No password: hashing one per test costs a third of a second; force_login and tokens need none.
    # get_or_create: a transactional test flushes the groups that the migration made.
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create(username=username, **fields)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def viewer(db):
    """A member of the viewer group: reads everything, writes nothing."""
    from core.access import VIEWER_GROUP

    return _user_in_group(username=VIEWER_USERNAME, group=VIEWER_GROUP)


@pytest.fixture
def viewer_token(viewer) -> str:
    from core.services import access_token_create

    return access_token_create(user=viewer)


@pytest.fixture
def viewer_session(viewer) -> str:
    """The key of a logged-in session of the viewer (committed along with the test's data)."""
    from django.conf import settings
    from django.test import Client

    login = Client()
    login.force_login(viewer)
    return login.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def client(viewer):
    """pytest-django's client, logged in as a viewer."""
    from django.test import Client

    logged_in = Client()
    logged_in.force_login(viewer)
    return logged_in


@pytest.fixture
def api_client(viewer):
    """DRF's test client, logged in as a viewer (a session, like the dashboard's requests)."""
    from rest_framework.test import APIClient

    logged_in = APIClient()
    logged_in.force_login(viewer)
    return logged_in


@pytest.fixture
def editor(db):
    """A member of the editor group: reads as a viewer, and also loads data and manages alerts."""
    from core.access import EDITOR_GROUP

    return _user_in_group(username="editor", group=EDITOR_GROUP)


@pytest.fixture
def editor_client(editor):
    """DRF's test client, logged in as an editor (a session)."""
    from rest_framework.test import APIClient

    logged_in = APIClient()
    logged_in.force_login(editor)
    return logged_in


@pytest.fixture
def anonymous_client():
    """No credentials at all (DRF's client: JSON bodies with format="json")."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def ingest_token(db) -> str:
    """A token of a member of the ingest group: may POST /api/sales/ingest, may not read."""
    from core.access import INGEST_GROUP
    from core.services import access_token_create

    return access_token_create(user=_user_in_group(username="feeder", group=INGEST_GROUP))


@pytest.fixture
def ingest_client(ingest_token):
    from rest_framework.test import APIClient

    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {ingest_token}")
    return token_client


@pytest.fixture
def staff_client(db):
    """A superuser's session (the admin)."""
    from django.test import Client

    staff = Client()
    staff.force_login(_user_in_group(username="admin", group="", is_staff=True, is_superuser=True))
    return staff


# ---------------------------------------------------------------- live servers and the browser


@pytest.fixture
def daphne_server(django_db_setup, viewer_token, tmp_path):
    """A real Daphne on a free port serving the project against the test database.
    `daphne_server.get(path)` sends a viewer's token; `.url` is there for raw calls.

    Function-scoped so each test gets a fresh process (tests may stop/restart it:
    `daphne_server.stop()` / `.start()` keep the same port)."""
    from core.testing import DaphneProcess

    server = DaphneProcess(log_dir=tmp_path, headers={"Authorization": f"Token {viewer_token}"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_worker_process(django_db_setup, tmp_path):
    """A real Celery worker process consuming this test run's broker and database."""
    from core.testing import CeleryWorkerProcess

    worker = CeleryWorkerProcess(log_dir=tmp_path)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def browser(viewer_session):
    """Debian's Chromium; its pages carry a viewer's session (browser.page(anonymous=True): none).

    Playwright's sync API keeps an event loop running on the test's thread, where Django refuses
    ORM calls: list `browser` after every fixture that touches the database."""
    from playwright.sync_api import sync_playwright

    from core.testing import Browser, session_cookies

    with sync_playwright() as playwright:
        chromium = Browser(playwright, cookies=session_cookies(session_key=viewer_session))
        yield chromium
        chromium.chromium.close()
