"""Decimal units (kilograms, returns) in what the alerts judge: floats against float forecasts, and messages
that keep the decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from alerts.evaluation import units_text
from alerts.models import Level
from alerts.selectors import Scope, actuals_today
from sales.models import Item, Store
from sales.services import SaleRow, sales_record_batch

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def _history_pairs_forgotten():
    """The rollup rows written here are rolled back, but the per-process cache of the history's store-item
    pairs would keep their ids, and a later test in this process would read past its own rows."""
    yield
    from alerts import selectors

    selectors._HISTORY_PAIRS.clear()


@pytest.mark.parametrize("level", [Level.TOTAL, Level.STORE, Level.ITEM, Level.STORE_ITEM])
def test_todays_actuals_are_floats_at_every_level(level):
    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Bananas", unit="kg")
    Item.objects.create(id=2, code="2", name="Apples", unit="kg")
    sales_record_batch(
        rows=[
            SaleRow(date=DAY, store_id=1, item_id=1, sales=Decimal("2.474")),
            SaleRow(date=DAY, store_id=1, item_id=2, sales=Decimal("-1")),
        ]
    )
    frame = actuals_today(scope=Scope(level=level, store=None, item=None), day=DAY)
    assert frame["actual"].dtype == "float64"
    assert frame["actual"].sum() == pytest.approx(1.474)
    # What a rule compares it with: arithmetic with floats works.
    assert (frame["actual"] * 0.5 < 10.0).all()


def test_messages_keep_the_decimals_and_whole_units_stay_whole():
    assert units_text(1234.0) == "1,234"
    assert units_text(2.474) == "2.474"
    assert units_text(-1.5) == "-1.5"
    assert units_text(0.0) == "0"
