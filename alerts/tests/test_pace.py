"""The intraday pace: opening hours until a store has enough whole days of recorded batches, then learnt."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from alerts import selectors
from alerts.models import StoreHours
from alerts.tests.conftest import DAY, NOON
from streaming.services import sales_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    selectors._PACE_CACHE.clear()
    yield
    selectors._PACE_CACHE.clear()


def test_opening_hours_per_store_with_a_default(shop, clock, settings):
    settings.ALERTS_OPENING_HOURS = (8 * 60, 20 * 60)
    StoreHours.objects.create(store_id=2, opens=time(10), closes=time(18))
    curves = selectors.pace_curves(day=DAY)
    assert curves.of(1).kind == curves.of(2).kind == "opening hours"
    # Store 1 by default, 08:00-20:00: half of the day by 14:00. Store 2, 10:00-18:00: half by 14:00 too,
    # none before 10:00, all after 18:00.
    assert curves.of(1).share(14 * 60) == pytest.approx(0.5)
    assert curves.of(1).share(7 * 60) == 0.0
    assert curves.of(2).share(9 * 60) == 0.0
    assert curves.of(2).share(12 * 60) == pytest.approx(0.25)
    assert curves.of(2).share(19 * 60) == 1.0


def test_a_curve_is_learnt_once_a_store_has_enough_whole_days_of_batches(shop, clock, settings):
    settings.ALERTS_PACE_MIN_DAYS = 3
    # Store 1 sells 10 units in each quarter hour from 08:00 to 12:00 on the three days before DAY, and
    # 30 more in the quarter hour after 12:00 of each (a lunch peak): 190 a day, 160 of them by noon.
    for back in (1, 2, 3):
        start = NOON.replace(hour=8) - timedelta(days=back)
        for quarter in range(17):
            units = 30 if quarter == 16 else 10
            sales_ingest(rows=[(1, 1, units)], timestamp=start + timedelta(minutes=15 * quarter + 1))
    # Store 2 only two days: not enough.
    for back in (1, 2):
        sales_ingest(rows=[(2, 1, 5)], timestamp=NOON - timedelta(days=back))
    curves = selectors.pace_curves(day=DAY)
    store1 = curves.of(1)
    assert (store1.kind, store1.days) == ("learnt from recorded batches", 3)
    assert store1.share(8 * 60) == 0.0
    assert store1.share(12 * 60) == pytest.approx(160 / 190)
    assert store1.share(12 * 60 + 15) == pytest.approx(1.0)
    assert curves.of(2).kind == "opening hours"


def test_the_live_generator_follows_the_opening_hours(clock, settings, tmp_path):
    from core.testing import history_load
    from sales.models import Store
    from streaming.models import SalesEvent
    from streaming.services import tick_generate

    history_load(tmp_path, stores=2, items=3, align_to_today=False)
    settings.ALERTS_OPENING_HOURS = (8 * 60, 20 * 60)
    StoreHours.objects.create(store=Store.objects.get(pk=2), opens=time(10), closes=time(18))
    # 09:00-09:01: store 1 is open, store 2 is not (and it caught up nothing from a closed night).
    clock.move_to(NOON.replace(hour=9, minute=1, second=5))
    tick_generate(seed=1)
    stores = {store for event in SalesEvent.objects.all() for store, _, _ in event.rows}
    assert stores == {"1"}  # the event log names stores by code
    # 21:00: both closed, nothing sold in the interval that just ended.
    clock.move_to(NOON.replace(hour=21, minute=1, second=5))
    before = SalesEvent.objects.count()
    tick_generate(seed=2)
    last = SalesEvent.objects.order_by("-id").first()
    assert SalesEvent.objects.count() > before and last.kind == "generated" and last.total == 0
