"""GET /api/sales/breakdown, and ?search= on the store and item lists: answers checked against
rankings computed here in plain Python, over random filters."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from sales.models import Item
from sales.tests.factories import items_create, rows_select, totals_by

pytestmark = pytest.mark.django_db

FIRST_DAY, DAYS = date(2015, 6, 1), 800  # the shape of sales_dataset (factories.dataset_create)


def _expected(rows, *, by: str, keys: list[int], top: int, order: str, offset: int) -> dict:
    sold = totals_by(rows, lambda r: r.store_id if by == "store" else r.item_id)
    sign = -1 if order == "desc" else 1
    ranked = sorted(keys, key=lambda key: (sign * sold.get(key, 0), key))
    total = sum(sold.values())
    page = ranked[offset : offset + top]
    shown = [
        {
            "id": str(key),
            "name": f"{by.title()} {key}",
            "sales": sold.get(key, 0),
            "share": round(sold.get(key, 0) / total, 6) if total else None,
        }
        for key in page
    ]
    return {
        "total": total,
        "count": len(keys),
        "rows": shown,
        "other": {"count": len(keys) - len(page), "sales": total - sum(r["sales"] for r in shown)},
    }


def _random_query(rng: random.Random) -> tuple[str, dict, dict]:
    params: dict = {"by": rng.choice(["store", "item"]), "top": rng.randint(1, 5), "order": rng.choice(["desc", "asc"])}
    params["offset"] = rng.choice([0, 0, 1, 2, 3, 7])
    selection: dict = {}
    if rng.random() < 0.5:
        selection["stores"] = sorted(rng.sample([1, 2, 3], rng.randint(1, 2)))
    if rng.random() < 0.5:
        selection["items"] = sorted(rng.sample([1, 2, 3, 4], rng.randint(1, 3)))
    if rng.random() < 0.6:
        start = FIRST_DAY + timedelta(days=rng.randint(-30, DAYS))
        selection["date_from"] = start
        if rng.random() < 0.7:
            selection["date_to"] = start + timedelta(days=rng.randint(0, 400))
    query = dict(params)
    for key, name in (("stores", "store"), ("items", "item")):
        if key in selection:
            query[name] = ",".join(map(str, selection[key]))
    for key in ("date_from", "date_to"):
        if key in selection:
            query[key] = selection[key].isoformat()
    return "&".join(f"{k}={v}" for k, v in query.items()), params, selection


def test_breakdown_equals_rankings_computed_from_the_rows_over_random_filters(sales_dataset, client):
    rng = random.Random(20261126)
    for _ in range(60):
        query, params, selection = _random_query(rng)
        response = client.get(f"/api/sales/breakdown?{query}")
        assert response.status_code == 200, (query, response.content)
        body = response.json()
        following = body.pop("next")
        by = params["by"]
        every = [1, 2, 3] if by == "store" else [1, 2, 3, 4]
        keys = selection.get("stores" if by == "store" else "items") or every
        expected = _expected(
            rows_select(sales_dataset, **selection),
            by=by,
            keys=keys,
            **{k: params[k] for k in ("top", "order", "offset")},
        )
        assert body == {
            # Every item in the default unit (settings.SALES_DEFAULT_UNIT).
            "unit": "units",
            "units": ["units"],
            "by": by,
            "order": params["order"],
            "date_from": selection["date_from"].isoformat() if "date_from" in selection else None,
            "date_to": selection["date_to"].isoformat() if "date_to" in selection else None,
            "offset": params["offset"],
            **expected,
        }, query
        end = params["offset"] + params["top"]
        assert (following is None) == (end >= body["count"]), query
        if following:
            assert f"offset={end}" in following and f"top={params['top']}" in following


def test_the_rows_and_other_add_up_to_the_total_and_pages_cover_every_item_once(sales_dataset, client):
    seen = []
    for offset in range(0, 4, 2):
        body = client.get(f"/api/sales/breakdown?by=item&top=2&offset={offset}").json()
        assert sum(r["sales"] for r in body["rows"]) + body["other"]["sales"] == body["total"]
        assert body["other"]["count"] == 4 - len(body["rows"])
        seen += [r["id"] for r in body["rows"]]
    assert sorted(seen) == ["1", "2", "3", "4"]
    past_the_end = client.get("/api/sales/breakdown?by=item&offset=4").json()
    assert past_the_end["rows"] == [] and past_the_end["other"] == {"count": 4, "sales": past_the_end["total"]}


def test_bottom_sellers_include_what_sold_nothing(sales_dataset, client):
    items_create(ids=[99])  # an item with no sales at all
    body = client.get("/api/sales/breakdown?by=item&order=asc&top=1").json()
    assert body["rows"] == [{"id": "99", "name": "Item 99", "sales": 0, "share": 0.0}]
    assert body["count"] == 5
    best = client.get("/api/sales/breakdown?by=item&order=desc&top=5").json()
    assert best["rows"][-1]["id"] == "99"


def test_an_empty_selection_has_no_share(sales_dataset, client):
    body = client.get("/api/sales/breakdown?by=store&date_from=2030-01-01").json()
    assert body["total"] == 0 and body["count"] == 3
    assert [r["share"] for r in body["rows"]] == [None, None, None]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("by=day", "by"),
        ("top=0", "top"),
        ("top=1001", "top"),
        ("top=ten", "top"),
        ("order=up", "order"),
        ("offset=-1", "offset"),
        ("store=x%00", "store"),
        ("date_from=2016-02-01&date_to=2016-01-01", "date_from"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(sales_dataset, client, query, parameter):
    response = client.get(f"/api/sales/breakdown?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_stores_and_items_can_be_searched_by_code_or_name(sales_dataset, client):
    items_create(ids=[12, 120])
    Item.objects.create(id=500, code="FOODS_3_090", name="Whole milk")
    names = lambda url: [row["name"] for row in client.get(url).json()["results"]]  # noqa: E731
    assert names("/api/items?search=foods_3") == ["Whole milk"]
    assert names("/api/items?search=MILK") == ["Whole milk"]
    assert client.get("/api/items/FOODS_3_090").json()["code"] == "FOODS_3_090"
    assert names("/api/items?search=item 1") == ["Item 1", "Item 12", "Item 120"]
    assert names("/api/items?search=ITEM 12") == ["Item 12", "Item 120"]
    assert names("/api/items?search=2") == ["Item 2", "Item 12", "Item 120"]
    assert names("/api/stores?search=3") == ["Store 3"]
    assert names("/api/stores?search=nothing like it") == []
    # An empty parameter is refused (naming it) like every other: the page leaves it out instead.
    assert client.get("/api/stores?search=").json()["parameter"] == "search"
    too_long = client.get("/api/items?search=" + "x" * 101)
    assert too_long.status_code == 400 and too_long.json()["parameter"] == "search"


def test_a_csv_cell_that_a_spreadsheet_would_run_comes_out_escaped(client):
    from sales.models import Item, Store
    from sales.services import SaleRow, sales_record_batch

    # Ids of their own: the module's dataset may already hold stores and items 1 to 4.
    Store.objects.create(id=901, code="901", name='=HYPERLINK("http://evil.example","x")')
    Store.objects.create(id=902, code="902", name="@SUM(A1)")
    Store.objects.create(id=903, code="903", name="Plain, with a comma")
    Item.objects.create(id=901, code="901", name="-2+3")
    sales_record_batch(
        rows=[SaleRow(date=date(2017, 1, 2), store_id=s, item_id=901, sales=s - 900) for s in (901, 902, 903)]
    )
    selection = "store=901,902,903&item=901"
    stores = b"".join(client.get(f"/api/sales/breakdown?by=store&{selection}&format=csv")).decode().splitlines()
    assert stores[0] == "rank,store,name,sales,share"
    assert stores[1:] == [
        '1,903,"Plain, with a comma",3,0.5',
        "2,902,'@SUM(A1),2,0.333333",
        '3,901,"\'=HYPERLINK(""http://evil.example"",""x"")",1,0.166667',
    ]
    items = b"".join(client.get(f"/api/sales/breakdown?by=item&{selection}&format=csv")).decode().splitlines()
    assert items[1:] == ["1,901,'-2+3,6,1.0"]
