"""Fixtures for the browser tests: small generated sales loaded through the real
loader and an ingest token. The browser itself (Debian's Chromium driven by Playwright,
logged in as a viewer) is the root conftest's `browser` fixture.

Playwright's sync API keeps an asyncio loop running on the test's thread, and
Django refuses ORM calls from a thread with a running loop. So every fixture
that touches the database runs before `browser` starts (list `browser` last),
and tests that must write while the browser is open do it in a worker thread
(`in_thread`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

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
def api_token(ingest_token):
    """A token that may ingest sales (and not read them)."""
    return ingest_token


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
