"""Fixtures for the browser tests: small generated sales loaded through the real
loader and an ingest token. The browser itself (Debian's Chromium driven by Playwright,
logged in as a viewer) is the root conftest's `browser` fixture.

Playwright's sync API keeps an asyncio loop running on the test's thread, and
Django refuses ORM calls from a thread with a running loop. So every fixture
that touches the database runs before `browser` starts (list `browser` last),
and tests that must write while the browser is open do it in a worker thread
(`core.testing.in_thread`).
"""

from __future__ import annotations

import pytest

from core.testing import history_load


@pytest.fixture
def sample_sales(tmp_path):
    """3 stores x 3 items, two years shifted so the last day is in the week before today; the load summary."""
    return history_load(tmp_path, stores=3, items=3).summary


@pytest.fixture
def api_token(ingest_token):
    """A token that may ingest sales (and not read them)."""
    return ingest_token
