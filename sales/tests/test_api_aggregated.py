"""GET /api/sales/aggregated: totals equal the base table's GROUP BY for every
granularity, grouping and filter combination, and come from the smallest rollup."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sales.services import SaleRow, sales_record_batch
from sales.tests.factories import period_of, rows_select, totals_by

pytestmark = pytest.mark.django_db


FILTERS = {
    "none": ("", {}),
    "one store": ("store=2", {"stores": [2]}),
    "two stores": ("store=1,3", {"stores": [1, 3]}),
    "one item": ("item=4", {"items": [4]}),
    "two items repeated": ("item=1&item=3", {"items": [1, 3]}),
    "store and item": ("store=3&item=2", {"stores": [3], "items": [2]}),
    "stores and items": ("store=1,2&item=2,3", {"stores": [1, 2], "items": [2, 3]}),
    "dates": ("date_from=2016-02-10&date_to=2016-05-03", {"date_from": date(2016, 2, 10), "date_to": date(2016, 5, 3)}),
    "dates and store": ("store=3&date_to=2016-09-30", {"stores": [3], "date_to": date(2016, 9, 30)}),
    "nothing matches": ("date_from=2030-01-01", {"date_from": date(2030, 1, 1)}),
}


def _expected(rows, granularity: str, group_by: str | None) -> list[dict]:
    if group_by is None:
        totals = totals_by(rows, lambda r: (period_of(r.date, granularity),))
        return [{"period": key[0].isoformat(), "sales": value} for key, value in sorted(totals.items())]
    totals = totals_by(rows, lambda r: (period_of(r.date, granularity), getattr(r, f"{group_by}_id")))
    return [{"period": p.isoformat(), group_by: str(k), "sales": value} for (p, k), value in sorted(totals.items())]


def _base_table(query_filters: dict, granularity: str, group_by: str | None) -> list[dict]:
    """The same figures straight from sales_sale with a hand-written GROUP BY."""
    where, params = ["TRUE"], []
    if query_filters.get("stores"):
        where.append("store_id = ANY(%s)")
        params.append(query_filters["stores"])
    if query_filters.get("items"):
        where.append("item_id = ANY(%s)")
        params.append(query_filters["items"])
    if query_filters.get("date_from"):
        where.append("date >= %s")
        params.append(query_filters["date_from"])
    if query_filters.get("date_to"):
        where.append("date <= %s")
        params.append(query_filters["date_to"])
    period = "date" if granularity == "day" else f"date_trunc('{granularity}', date)::date"
    key = f", {group_by}_id" if group_by else ""
    sql = f"SELECT {period} AS p{key}, SUM(sales) FROM sales_sale WHERE {' AND '.join(where)} GROUP BY 1{', 2' if key else ''} ORDER BY 1{', 2' if key else ''}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if group_by:
        return [{"period": p.isoformat(), group_by: str(k), "sales": int(s)} for p, k, s in rows]
    return [{"period": p.isoformat(), "sales": int(s)} for p, s in rows]


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize("group_by", [None, "store", "item"])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_aggregated_totals_equal_the_base_table(api_client, sales_dataset, granularity, group_by, filter_name):
    query, selection = FILTERS[filter_name]
    url = f"/api/sales/aggregated?granularity={granularity}&{query}" + (f"&group_by={group_by}" if group_by else "")
    response = api_client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["granularity"] == granularity
    assert body["group_by"] == group_by
    expected = _expected(rows_select(sales_dataset, **selection), granularity, group_by)
    assert body["results"] == expected
    assert body["results"] == _base_table(selection, granularity, group_by)
    if filter_name == "none":
        assert expected, "the dataset must give something to compare"


def test_default_granularity_is_day_and_periods_are_mondays_and_firsts(api_client, sales_dataset):
    client = api_client
    assert client.get("/api/sales/aggregated").json()["granularity"] == "day"
    weeks = client.get("/api/sales/aggregated/?granularity=week").json()["results"]
    assert all(date.fromisoformat(r["period"]).weekday() == 0 for r in weeks)
    months = client.get("/api/sales/aggregated?granularity=month").json()["results"]
    assert all(date.fromisoformat(r["period"]).day == 1 for r in months)


@pytest.mark.parametrize(
    ("query", "table"),
    [
        ("", "sales_dailytotal"),
        ("granularity=month", "sales_dailytotal"),
        ("store=1", "sales_dailystoretotal"),
        ("group_by=store", "sales_dailystoretotal"),
        ("group_by=store&store=1,2&granularity=week", "sales_dailystoretotal"),
        ("item=1", "sales_dailyitemtotal"),
        ("group_by=item&granularity=month", "sales_monthlyitemtotal"),
        ("group_by=item&granularity=month&date_from=2016-01-05", "sales_dailyitemtotal sales_monthlyitemtotal"),
        ("store=2&granularity=month&date_to=2016-01-31", "sales_monthlystoretotal"),
        ("store=1&item=1", "sales_sale"),
        ("group_by=store&item=1", "sales_sale"),
        ("group_by=item&store=1", "sales_sale"),
        ("group_by=item&store=1&granularity=month", "sales_monthlystoreitemtotal"),
        ("store=1&item=2&granularity=month&date_to=2016-03-15", "sales_sale sales_monthlystoreitemtotal"),
    ],
)
def test_aggregated_reads_the_smallest_rollup_that_can_answer(api_client, sales_dataset, query, table):
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get(f"/api/sales/aggregated?{query}").status_code == 200
    rollups = ("sales_dailytotal", "sales_dailystoretotal", "sales_dailyitemtotal", "sales_sale")
    rollups += ("sales_monthlystoretotal", "sales_monthlyitemtotal", "sales_monthlystoreitemtotal")
    tables_read = {t for q in queries for t in rollups if f'"{t}"' in q["sql"]}
    assert tables_read == set(table.split())


def test_aggregated_follows_new_writes(api_client, sales_dataset):
    client = api_client
    before = {
        r["period"]: r["sales"] for r in client.get("/api/sales/aggregated?store=2&granularity=month").json()["results"]
    }
    sales_record_batch(rows=[SaleRow(date=date(2016, 3, 15), store_id=2, item_id=1, sales=1000)])
    after = {
        r["period"]: r["sales"] for r in client.get("/api/sales/aggregated?store=2&granularity=month").json()["results"]
    }
    assert after["2016-03-01"] == before["2016-03-01"] + 1000
    assert {k: v for k, v in after.items() if k != "2016-03-01"} == {
        k: v for k, v in before.items() if k != "2016-03-01"
    }


@pytest.mark.parametrize("filter_name", ["none", "two stores", "dates", "stores and items"])
@pytest.mark.parametrize("group_by", [None, "store", "item"])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_pages_and_csv_each_hold_every_row_once(api_client, sales_dataset, granularity, group_by, filter_name):
    query, selection = FILTERS[filter_name]
    url = f"/api/sales/aggregated?granularity={granularity}&{query}" + (f"&group_by={group_by}" if group_by else "")
    expected = _expected(rows_select(sales_dataset, **selection), granularity, group_by)
    pages, following = [], f"{url}&page_size=7"
    while following:
        body = api_client.get(following).json()
        assert len(body["results"]) <= 7
        pages.append(body["results"])
        following = body["next"]
    assert [row for page in pages for row in page] == expected
    assert all(len(page) == 7 for page in pages[:-1])
    response = api_client.get(f"{url}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response).decode().splitlines()  # an async stream: iterating the response reads it
    columns = ["period", *([group_by] if group_by else []), "sales"]
    assert lines[0] == ",".join(columns)
    assert lines[1:] == [",".join(str(row[c]) for c in columns) for row in expected]


def test_a_bad_after_token_or_page_size_is_a_400_and_csv_errors_are_json(api_client, sales_dataset):
    for query, parameter in [
        ("after=bm9wZQ", "after"),
        ("group_by=store&after=WyIyMDE2LTAxLTAxIl0", "after"),  # a token of an ungrouped page
        ("page_size=0", "page_size"),
        ("page_size=10001", "page_size"),
    ]:
        response = api_client.get(f"/api/sales/aggregated?{query}")
        assert response.status_code == 400, query
        assert response.json()["parameter"] == parameter
    response = api_client.get("/api/sales/aggregated?format=csv&granularity=year")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["parameter"] == "granularity"


def test_an_unknown_format_is_a_400_naming_it(api_client, sales_dataset):
    for path in ("/api/sales/aggregated", "/api/sales/breakdown"):
        response = api_client.get(f"{path}?format=xlsx")
        assert response.status_code == 400
        assert response.json()["parameter"] == "format"
