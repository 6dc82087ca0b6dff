"""Units with decimals and returns through the sales API: JSON numbers (never strings), exact to the
third decimal, and whole-number data still reading as whole numbers (12, not 12.0)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from sales.models import Item, Store
from sales.services import SaleRow, sales_record_batch

pytestmark = pytest.mark.django_db

DAY = date(2020, 3, 2)


def catalogue() -> None:
    Store.objects.create(id=1, code="1", name="Store 1")
    Store.objects.create(id=2, code="CA_2", name="Store CA_2")
    Item.objects.create(id=1, code="1", name="Item 1")
    Item.objects.create(id=2, code="PRODUCE_1", name="Bananas")


@pytest.fixture
def fractional():
    catalogue()
    sales_record_batch(
        rows=[
            SaleRow(date=DAY, store_id=1, item_id=2, sales=Decimal("2.474")),
            SaleRow(date=DAY, store_id=2, item_id=2, sales=Decimal("7.5")),
            SaleRow(date=DAY, store_id=1, item_id=1, sales=Decimal("-1")),
            SaleRow(date=date(2020, 3, 3), store_id=2, item_id=1, sales=Decimal("0.001")),
        ]
    )


@pytest.fixture
def whole():
    catalogue()
    sales_record_batch(
        rows=[
            SaleRow(date=DAY, store_id=1, item_id=1, sales=5),
            SaleRow(date=DAY, store_id=2, item_id=2, sales=7),
            SaleRow(date=date(2020, 3, 3), store_id=1, item_id=2, sales=3),
        ]
    )


def get(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return json.loads(response.content, parse_float=Decimal)


def test_metrics_give_exact_fractional_totals_as_numbers(client, fractional):
    body = get(client, "/api/sales/metrics")
    # parse_float=Decimal: the JSON number's own digits, so exact means exact.
    assert body["total_sales"] == Decimal("8.975")
    assert body["best_day"] == {"date": "2020-03-02", "sales": Decimal("8.974")}
    assert body["top_items"][0] == {"item": "PRODUCE_1", "name": "Bananas", "sales": Decimal("9.974")}
    assert body["top_items"][1]["sales"] == Decimal("-0.999")


def test_aggregated_and_breakdown_give_numbers(client, fractional):
    body = get(client, "/api/sales/aggregated?granularity=day")
    assert [row["sales"] for row in body["results"]] == [Decimal("8.974"), Decimal("0.001")]
    grouped = get(client, "/api/sales/aggregated?granularity=month&group_by=store")
    assert [(row["store"], row["sales"]) for row in grouped["results"]] == [
        ("1", Decimal("1.474")),
        ("CA_2", Decimal("7.501")),
    ]
    breakdown = get(client, "/api/sales/breakdown?by=item&top=1")
    assert breakdown["total"] == Decimal("8.975")
    assert breakdown["rows"][0]["sales"] == Decimal("9.974")
    assert breakdown["other"]["sales"] == Decimal("-0.999")
    rows = get(client, "/api/sales?ordering=date")
    assert sorted(row["sales"] for row in rows["results"]) == [
        Decimal("-1"),
        Decimal("0.001"),
        Decimal("2.474"),
        Decimal("7.5"),
    ]


def test_csv_gives_decimals_without_trailing_zeros(client, fractional):
    response = client.get("/api/sales/aggregated?granularity=day&format=csv")
    text = b"".join(response).decode()
    assert text.splitlines() == ["period,sales", "2020-03-02,8.974", "2020-03-03,0.001"]


def test_whole_number_data_keeps_whole_numbers(client, whole):
    metrics = client.get("/api/sales/metrics").content
    assert b'"total_sales":15,' in metrics
    assert b".0," not in metrics.replace(b'"average_per_day":7.5', b"")
    aggregated = client.get("/api/sales/aggregated").content
    assert b'"sales":12}' in aggregated and b'"sales":3}' in aggregated
    rows = client.get("/api/sales?ordering=date").content
    assert b'"sales":5,' in rows
    response = client.get("/api/sales/breakdown?by=store&format=csv")
    text = b"".join(response).decode()
    assert text.splitlines()[1:] == ["1,1,Store 1,8,0.533333", "2,CA_2,Store CA_2,7,0.466667"]


def test_metrics_say_the_unit_of_the_selection_or_that_it_mixes_units(client, fractional, settings):
    assert (get(client, "/api/sales/metrics")["unit"], get(client, "/api/sales/metrics")["units"]) == (
        "units",
        ["units"],
    )
    Item.objects.filter(code="PRODUCE_1").update(unit="kg")
    settings.SALES_DEFAULT_UNIT = "pieces"
    mixed = get(client, "/api/sales/metrics")
    assert (mixed["unit"], mixed["units"]) == (None, ["kg", "pieces"])
    bananas = get(client, "/api/sales/metrics?item=PRODUCE_1")
    assert (bananas["unit"], bananas["units"], bananas["total_sales"]) == ("kg", ["kg"], Decimal("9.974"))
    assert get(client, "/api/sales/metrics?item=1")["unit"] == "pieces"
    # Nothing sold in the selection: the unit is still the items'.
    assert get(client, "/api/sales/metrics?item=PRODUCE_1&date_from=2021-01-01")["unit"] == "kg"
    assert get(client, "/api/items/PRODUCE_1")["unit"] == "kg"
    assert get(client, "/api/items/1")["unit"] == "pieces"
