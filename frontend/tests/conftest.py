"""Fixtures for the browser tests: small generated sales loaded through the real
loader, an API token, and Debian's Chromium driven by Playwright.

Playwright's sync API keeps an asyncio loop running on the test's thread, and
Django refuses ORM calls from a thread with a running loop. So every fixture
that touches the database runs before `browser` starts (list `browser` last),
and tests that must write while the browser is open do it in a worker thread
(`in_thread`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def in_thread(fn, /, *args, **kwargs):
    """Run `fn` on a fresh thread (no running event loop there, so the ORM works) and return its result."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def sample_load(tmp_path: Path, *, stores: int, items: int):
    """Two years of generated sales, shifted so the last day is in the week before today,
    loaded by the same COPY loader as production."""
    from sales.sample import sample_generate
    from sales.services import sales_load_csv

    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=stores, items=items, start=date(2016, 1, 1), end=date(2017, 12, 31))
    return sales_load_csv(path=path, align_to_today=True, followups=False)


@pytest.fixture
def sample_sales(tmp_path):
    """3 stores x 3 items."""
    return sample_load(tmp_path, stores=3, items=3)


@pytest.fixture
def api_token(db):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user(username="feeder", password="not-used-here-123")
    return Token.objects.create(user=user).key


class Browser:
    """One Chromium for a test; pages record console errors and uncaught exceptions."""

    def __init__(self, playwright) -> None:
        if not CHROMIUM.exists():
            raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
        self.chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

    def page(self, *, width: int = 1440, height: int = 900, scheme: str = "light"):
        context = self.chromium.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme, locale="en-US", timezone_id="UTC"
        )
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(_describe(m)))
        page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
        return page


def _describe(message) -> str:
    url = (message.location or {}).get("url", "")
    return f"{message.text} ({url})" if url else message.text


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = Browser(playwright)
        yield browser
        browser.chromium.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
