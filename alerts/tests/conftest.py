"""Fixtures of the alerts tests: a small shop (2 stores x 3 items) with a day's forecast written as a
complete run, a controlled clock, and real receivers (an HTTP server checking signatures, an SMTP server)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from alerts.tests.helpers import WebhookReceiver

DAY = date(2026, 3, 4)
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
# The shop's stores and items: internal id -> code.
STORES = {1: "CA_1", 2: "TX_2"}
ITEMS = {1: "FOODS_3_090", 2: "HOBBIES_1_001", 3: "HOUSEHOLD_2_118"}


@pytest.fixture
def clock():
    """The test's clock, stopped at noon of DAY; `clock.move_to(moment)` sets it."""
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def shop(db):
    from sales.models import Item, Store

    # Text codes, as real data has them: the internal ids (1, 2 / 1, 2, 3) never show.
    Store.objects.bulk_create([Store(id=s, code=code, name=f"Store {code}") for s, code in STORES.items()])
    Item.objects.bulk_create([Item(id=i, code=code, name=f"Item {code}") for i, code in ITEMS.items()])


@pytest.fixture
def receiver():
    server = WebhookReceiver(signing_key="s3cret")
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def selector_caches_forgotten():
    """The evaluation keeps per-process caches (the store-item pairs, the day's pace curves, the forecast
    frames: alerts.selectors). A test's rows are rolled back or truncated under them, which no product write
    does, so each test starts without them."""
    from alerts import selectors

    caches = (selectors._HISTORY_PAIRS, selectors._PACE_CACHE, selectors._FORECAST_CACHE)
    for cache in caches:
        cache.clear()
    yield
    for cache in caches:
        cache.clear()
