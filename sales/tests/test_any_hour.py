"""The KPIs' windows and "today" at any hour of any day (the clock matrix: core.testing.CLOCK_MATRIX)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.testing import history_load
from sales.models import DailyTotal
from sales.selectors import SalesFilters, sales_metrics
from sales.services import SaleRow, sales_record_batch

pytestmark = [pytest.mark.clock_matrix, pytest.mark.django_db]


def units_between(totals: dict[date, int], first: date, last: date) -> int:
    return sum(units for day, units in totals.items() if first <= day <= last)


def test_the_windows_compare_whole_days_up_to_yesterday_and_today_is_the_local_day(tmp_path, clock_instant):
    history_load(tmp_path, stores=1, items=2, start=date(2016, 1, 1), end=date(2017, 12, 31))
    today = timezone.localdate()
    sales_record_batch(rows=[SaleRow(date=today, store_id=1, item_id=1, sales=7)])
    totals = dict(DailyTotal.objects.values_list("date", "sales"))

    metrics = sales_metrics(filters=SalesFilters())

    yesterday = today - timedelta(days=1)
    assert metrics["today"]["date"] == today == clock_instant.local.date()
    assert metrics["today"]["actual"] == totals[today] == 7
    assert metrics["date_to"] == today
    assert metrics["windows_end"] == yesterday
    for key, days in (("last_7_days", 7), ("last_30_days", 30), ("year_over_year", 365)):
        end = yesterday
        assert metrics[key]["sales"] == units_between(totals, end - timedelta(days=days - 1), end), key
        before = end - timedelta(days=days)
        assert metrics[key]["previous"] == units_between(totals, before - timedelta(days=days - 1), before), key
