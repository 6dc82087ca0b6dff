"""GET /api/sales/metrics: every figure checked against one computed here in plain Python."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sales.services import SaleRow, sales_record_batch
from sales.tests.factories import rows_select, totals_by

pytestmark = pytest.mark.django_db


def _window(history, last: date, days: int) -> dict:
    """`history`: the rows up to `last` with the store/item filters only (date_from does not clip the windows)."""
    current = sum(r.sales for r in history if last - timedelta(days=days) < r.date <= last)
    if last - timedelta(days=2 * days - 1) < min(r.date for r in history):
        return {
            "sales": current,
            "previous": None,
            "growth_pct": None,
            "days": days,
        }  # the data does not reach that far back
    previous = sum(r.sales for r in history if last - timedelta(days=2 * days) < r.date <= last - timedelta(days=days))
    growth = round((current - previous) / previous * 100, 1) if previous else None
    return {"sales": current, "previous": previous, "growth_pct": growth, "days": days}


def _ranking(rows, attribute: str, label: str) -> list[dict]:
    totals = totals_by(rows, lambda r: getattr(r, attribute))
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{label: str(key), "name": f"{label.title()} {key}", "sales": value} for key, value in ranked]


def _expected_metrics(rows, history) -> dict:
    first, last = min(r.date for r in rows), max(r.date for r in rows)
    windows_end = min(last, timezone.localdate() - timedelta(days=1))  # complete days only
    history = [r for r in history if r.date <= windows_end]
    total = sum(r.sales for r in rows)
    days = (last - first).days + 1
    per_day = totals_by(rows, lambda r: r.date)
    best_units = max(per_day.values())
    best_date = min(d for d, units in per_day.items() if units == best_units)
    stores, items = _ranking(rows, "store_id", "store"), _ranking(rows, "item_id", "item")
    return {
        "frequency": "D",
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "days": days,
        "weeks": None,
        "total_sales": total,
        "average_per_day": round(total / days, 1),
        "average_per_week": None,
        "windows_end": windows_end.isoformat(),
        "last_7_days": _window(history, windows_end, 7),
        "last_30_days": _window(history, windows_end, 30),
        "year_over_year": _window(history, windows_end, 365),
        "best_day": {"date": best_date.isoformat(), "sales": best_units},
        "top_stores": stores[:5],
        "top_items": items[:5],
        "counts": {"stores": len(stores), "items": len(items), "rows": len(rows)},
        # Every item in the default unit (settings.SALES_DEFAULT_UNIT).
        "unit": "units",
        "units": ["units"],
    }


SELECTIONS = {
    "everything": ("", {}),
    "one store (starts late)": ("store=3", {"stores": [3]}),
    "stores": ("store=1,2", {"stores": [1, 2]}),
    "items": ("item=2&item=4", {"items": [2, 4]}),
    "store and item": ("store=2&item=3", {"stores": [2], "items": [3]}),
    "date range": (
        "date_from=2015-09-01&date_to=2016-10-15",
        {"date_from": date(2015, 9, 1), "date_to": date(2016, 10, 15)},
    ),
    "short range": (
        "date_from=2016-01-01&date_to=2016-01-10&item=1",
        {"date_from": date(2016, 1, 1), "date_to": date(2016, 1, 10), "items": [1]},
    ),
}


@pytest.mark.parametrize("selection_name", list(SELECTIONS))
def test_metrics_match_figures_computed_independently(api_client, sales_dataset, selection_name):
    query, selection = SELECTIONS[selection_name]
    response = api_client.get(f"/api/sales/metrics?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    today = body.pop("today")
    undated = {key: value for key, value in selection.items() if key != "date_from"}
    assert body == _expected_metrics(rows_select(sales_dataset, **selection), rows_select(sales_dataset, **undated))
    assert today == {
        "date": timezone.localdate().isoformat(),
        "actual": 0,
        "forecast": None,
        "lower_80": None,
        "upper_80": None,
        "lower_95": None,
        "upper_95": None,
    }


def test_metrics_do_not_compare_with_a_window_the_data_does_not_cover(api_client, sales_dataset):
    # Store 3 starts on 2016-07-05: the 365 days before its last year (to 2017-03-01) have no data,
    # and a window only partly covered would make growth look huge.
    body = api_client.get("/api/sales/metrics?store=3&date_to=2017-03-01").json()
    assert body["year_over_year"]["previous"] is None
    assert body["year_over_year"]["growth_pct"] is None
    assert body["last_30_days"]["previous"] is not None


def test_a_date_range_does_not_clip_the_window_before_it(api_client, sales_dataset):
    # The 30 days before a range that starts 10 days before its end come from the history outside it.
    body = api_client.get("/api/sales/metrics?date_from=2016-10-06&date_to=2016-10-15").json()
    history = rows_select(sales_dataset, date_to=date(2016, 10, 15))
    assert body["last_30_days"] == _window(history, date(2016, 10, 15), 30)
    assert body["last_30_days"]["sales"] > body["total_sales"]


def test_metrics_of_an_empty_selection_are_zero_and_null(api_client, sales_dataset):
    response = api_client.get("/api/sales/metrics?date_from=2030-01-01")
    assert response.status_code == 200
    body = response.json()
    assert body["total_sales"] == 0
    assert body["days"] == 0
    assert body["date_from"] is None and body["date_to"] is None
    assert body["average_per_day"] is None and body["best_day"] is None
    assert body["last_7_days"] == {"sales": 0, "previous": None, "growth_pct": None, "days": 7}
    assert body["windows_end"] is None
    assert body["top_stores"] == [] and body["top_items"] == []
    assert body["counts"] == {"stores": 0, "items": 0, "rows": 0}


def test_metrics_today_is_the_local_date_with_the_store_and_item_filters(api_client, sales_dataset):
    today = timezone.localdate()
    sales_record_batch(
        rows=[
            SaleRow(date=today, store_id=1, item_id=1, sales=5),
            SaleRow(date=today, store_id=2, item_id=1, sales=7),
            SaleRow(date=today, store_id=2, item_id=2, sales=11),
            SaleRow(date=today - timedelta(days=1), store_id=1, item_id=1, sales=100),
        ]
    )
    client = api_client
    assert client.get("/api/sales/metrics").json()["today"]["actual"] == 23
    assert client.get("/api/sales/metrics?store=2").json()["today"]["actual"] == 18
    assert client.get("/api/sales/metrics?item=1").json()["today"]["actual"] == 12
    assert client.get("/api/sales/metrics?store=2&item=2").json()["today"]["actual"] == 11
    # "today" ignores the date filters: the dashboard shows today next to any chosen range.
    old_range = client.get("/api/sales/metrics?date_to=2016-01-01").json()
    assert old_range["today"]["actual"] == 23
    assert old_range["date_to"] == "2016-01-01"


def test_metrics_take_a_handful_of_queries_and_never_read_the_base_table(api_client, sales_dataset):
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/sales/metrics").status_code == 200
    # 3 of them are the login's: the session, its user and the viewer check; 1 the selection's unit (the
    # catalogue's distinct units).
    assert len(queries) <= 10 + 3 + 1
    # Every sum, and the row count too, comes from a rollup.
    assert [q["sql"] for q in queries if '"sales_sale"' in q["sql"]] == []


def test_the_windows_compare_complete_days_while_today_fills_up(api_client, sales_dataset):
    # Live sales land on today: counting that partial day would make every window read as a fall.
    today = timezone.localdate()
    sales_record_batch(rows=[SaleRow(date=today, store_id=1, item_id=1, sales=3)])
    body = api_client.get("/api/sales/metrics").json()
    assert body["date_to"] == today.isoformat()
    yesterday = today - timedelta(days=1)
    assert body["windows_end"] == yesterday.isoformat()
    assert body["last_7_days"] == _window(rows_select(sales_dataset), yesterday, 7)
    assert body["today"]["actual"] == 3
