"""The forecast's reads of actuals with decimal units (kilograms, returns): floats for the models, whole
units still whole."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from forecasting.models import Level
from forecasting.selectors import SeriesKey, series_actuals, series_history
from sales.models import Item, Store
from sales.services import SaleRow, sales_record_batch

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 30)


def test_actuals_and_history_read_decimal_units_as_floats():
    Store.objects.create(id=1, code="1", name="Store 1")
    Item.objects.create(id=1, code="1", name="Bananas", unit="kg")
    Item.objects.create(id=2, code="2", name="Cans")
    sales_record_batch(
        rows=[
            SaleRow(date=DAY, store_id=1, item_id=1, sales=Decimal("2.474")),
            SaleRow(date=DAY, store_id=1, item_id=2, sales=Decimal("-1")),
            SaleRow(date=DAY + timedelta(days=1), store_id=1, item_id=2, sales=3),
        ]
    )
    end = DAY + timedelta(days=1)
    assert series_actuals(key=SeriesKey(Level.TOTAL), start=DAY, end=end) == {DAY: 1.474, end: 3}
    assert type(series_actuals(key=SeriesKey(Level.ITEM, None, 2), start=DAY, end=end)[end]) is int
    keys = [SeriesKey(Level.STORE_ITEM, 1, 1), SeriesKey(Level.ITEM, None, 2), SeriesKey(Level.STORE, 1, None)]
    history = series_history(keys=keys, start=DAY, end=end)
    assert history[keys[0]].dtype == np.float64
    assert history[keys[0]].tolist() == [2.474, 0.0]
    assert history[keys[1]].tolist() == [-1.0, 3.0]
    assert history[keys[2]].tolist() == pytest.approx([1.474, 3.0])
