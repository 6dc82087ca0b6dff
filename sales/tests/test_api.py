"""GET /api/stores, /api/items, /api/sales: filters, ordering, pagination, bad input, write safety."""

from __future__ import annotations

import random
import string
from datetime import date

import pytest

from sales.models import DailyTotal, Sale
from sales.tests.factories import rows_select

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    return api_client


def test_stores_and_items_list_page_by_code(client, sales_dataset):
    stores = client.get("/api/stores?page_size=2").json()
    assert stores["count"] == 3
    assert [(s["code"], s["name"]) for s in stores["results"]] == [("1", "Store 1"), ("2", "Store 2")]
    assert [s["code"] for s in client.get(stores["next"]).json()["results"]] == ["3"]
    items = client.get("/api/items/").json()["results"]
    assert items[0] == {
        "code": "1",
        "name": "Item 1",
        "department": None,
        "category": None,
        "unit": "units",
        "attributes": {},
    }
    assert [i["code"] for i in items] == ["1", "2", "3", "4"]
    assert client.get("/api/stores/2").json()["name"] == "Store 2"
    assert client.get("/api/stores/CA_9").status_code == 404


def _all_pages(client, url: str) -> list[dict]:
    results = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        results += body["results"]
        url = body["next"]
    return results


@pytest.mark.parametrize(
    ("query", "selection"),
    [
        ("", {}),
        ("store=2", {"stores": [2]}),
        ("store=1,3", {"stores": [1, 3]}),
        ("store=1&store=3", {"stores": [1, 3]}),
        ("store=1,2&store=3&item=4", {"stores": [1, 2, 3], "items": [4]}),
        (
            "item=2,3&date_from=2016-02-27&date_to=2016-03-03",
            {"items": [2, 3], "date_from": date(2016, 2, 27), "date_to": date(2016, 3, 3)},
        ),
        ("date_from=2017-07-01", {"date_from": date(2017, 7, 1)}),
        ("date_to=2015-06-03&store=2", {"date_to": date(2015, 6, 3), "stores": [2]}),
        ("store=999", {"stores": [999]}),
    ],
)
def test_sales_filters_select_the_matching_rows(client, sales_dataset, query, selection):
    expected = rows_select(sales_dataset, **selection)
    first = client.get(f"/api/sales?{query}&page_size=1000")
    assert first.status_code == 200
    assert first.json()["count"] == len(expected)
    if len(expected) > 3000:
        return  # counting is enough for the big selections; paging through them is checked below
    got = _all_pages(client, f"/api/sales?{query}&page_size=1000")
    assert sorted((r["date"], r["store"], r["item"], r["sales"]) for r in got) == sorted(
        (r.date.isoformat(), str(r.store_id), str(r.item_id), r.sales) for r in expected
    )


def test_sales_pages_cover_every_row_once_with_working_links(client, sales_dataset):
    expected = rows_select(sales_dataset, stores=[1], items=[1])
    got = _all_pages(client, "/api/sales?store=1&item=1&page_size=97")
    assert [(r["date"], r["sales"]) for r in got] == [(r.date.isoformat(), r.sales) for r in expected]
    second = client.get("/api/sales?store=1&item=1&page_size=97&page=2").json()
    assert second["previous"].endswith("page_size=97&store=1&item=1") or "page=" not in second["previous"]
    assert "page=3" in second["next"]
    assert len(second["results"]) == 97
    default = client.get("/api/sales/").json()
    assert len(default["results"]) == 100
    assert default["previous"] is None


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        (None, lambda r: (r.date, r.store_id, r.item_id)),
        ("date", lambda r: (r.date, r.store_id, r.item_id)),
        ("-date", lambda r: (-r.date.toordinal(), -r.store_id, -r.item_id)),
        ("store", lambda r: (r.store_id, r.date, r.item_id)),
        ("-store", lambda r: (-r.store_id, -r.date.toordinal(), -r.item_id)),
        ("item", lambda r: (r.item_id, r.date, r.store_id)),
        ("-item", lambda r: (-r.item_id, -r.date.toordinal(), -r.store_id)),
    ],
)
def test_sales_ordering(client, sales_dataset, ordering, key):
    selection = {"date_from": date(2016, 8, 1), "date_to": date(2016, 8, 20)}
    expected = sorted(rows_select(sales_dataset, **selection), key=key)
    query = "date_from=2016-08-01&date_to=2016-08-20&page_size=1000" + (f"&ordering={ordering}" if ordering else "")
    got = _all_pages(client, f"/api/sales?{query}")
    assert [(r["date"], r["store"], r["item"]) for r in got] == [
        (r.date.isoformat(), str(r.store_id), str(r.item_id)) for r in expected
    ]


@pytest.mark.parametrize("ordering", ["sales", "-sales"])
def test_ordering_by_units_is_refused_it_has_no_index(client, ordering):
    # Sorting the whole table by a column with no index would read all of it for one page.
    response = client.get(f"/api/sales?ordering={ordering}")
    assert response.status_code == 400
    assert response.json()["parameter"] == "ordering"


def test_page_numbers_stop_at_the_ceiling_and_after_goes_deeper(client, sales_dataset):
    from sales.pagination import MAX_PAGE_OFFSET

    deepest = MAX_PAGE_OFFSET // 1000
    # The deepest numbered page is answered as any other (here: past the end of the small history).
    assert "deeper than page numbers go" not in client.get(f"/api/sales?page_size=1000&page={deepest}").json().get(
        "error", ""
    )
    response = client.get(f"/api/sales?page_size=1000&page={deepest + 1}")
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "page" and "`after`" in body["error"]


def _keyset_pages(client, url: str) -> list[list[dict]]:
    """Every page of a keyset walk: the first page-number page, then `?after=` and its `next` links."""
    first = client.get(url).json()
    pages, token = [first["results"]], first["after"]
    next_url = f"{url}&after={token}" if token else None
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["previous"] is None  # keyset pages go forward only
        assert body["count"] == first["count"]
        pages.append(body["results"])
        assert (body["next"] is None) == (body["after"] is None)
        next_url = body["next"]
        if next_url:
            assert "after=" in next_url and "page=" not in next_url
    return pages


@pytest.mark.parametrize("ordering", ["date", "-date", "store", "-store", "item", "-item"])
def test_keyset_pages_equal_the_numbered_pages_in_every_ordering(client, sales_dataset, ordering):
    query = f"/api/sales?date_from=2016-07-30&date_to=2016-08-20&page_size=37&ordering={ordering}"
    numbered = [r["id"] for r in _all_pages(client, query)]
    pages = _keyset_pages(client, query)
    assert [r["id"] for page in pages for r in page] == numbered
    assert len(numbered) == len(rows_select(sales_dataset, date_from=date(2016, 7, 30), date_to=date(2016, 8, 20)))
    assert all(len(page) == 37 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 37


def test_keyset_pages_at_the_edges(client, sales_dataset):
    # A selection that fills its pages exactly: the last full page has no `after`, so no empty page follows.
    # (The dataset has missing days: pick an end day that makes the row count even.)
    for end in range(20, 10, -1):
        rows = rows_select(sales_dataset, stores=[2], items=[3], date_from=date(2016, 1, 1), date_to=date(2016, 1, end))
        if len(rows) % 2 == 0:
            break
    half = len(rows) // 2
    query = f"/api/sales?store=2&item=3&date_from=2016-01-01&date_to=2016-01-{end}&page_size={half}"
    pages = _keyset_pages(client, query)
    assert [len(page) for page in pages] == [half, half]
    assert [r["date"] for page in pages for r in page] == [r.date.isoformat() for r in rows]
    # The whole selection on one page: no token at all.
    assert client.get(query.replace(f"page_size={half}", f"page_size={2 * half}")).json()["after"] is None
    # An empty selection.
    empty = client.get("/api/sales?store=999&page_size=10").json()
    assert (empty["results"], empty["after"], empty["next"]) == ([], None, None)


def test_keyset_tokens_that_do_not_fit_are_refused_naming_after(client, sales_dataset):
    first = client.get("/api/sales?page_size=5&ordering=store").json()
    for query in [
        f"after={first['after']}",  # made for ordering=store, used with the default ordering
        f"after={first['after']}&ordering=store&page=2",  # with a page number
        "after=not-a-token",
        "after=" + "A" * 401,
        # Well-formed JSON with an id past PostgreSQL's integer range: a 400, not a database error.
        "after=eyJvcmRlciI6WyJkYXRlIiwic3RvcmVfaWQiLCJpdGVtX2lkIl0sInZhbHVlcyI6WyIyMDE2LTAxLTAxIiwxZTMwLDFdfQ",
        "after=eyJvcmRlciI6WyJkYXRlIiwic3RvcmVfaWQiLCJpdGVtX2lkIl0sInZhbHVlcyI6WyIyMDE2LTAxLTAxIiw5OTk5OTk5OTk5OTksMV19",
        "after=WzFd",  # a JSON list
    ]:
        response = client.get(f"/api/sales?{query}")
        assert response.status_code == 400, (query, response.content)
        assert response.json()["parameter"] == "after", (query, response.json())
    # The right ordering takes it.
    assert client.get(f"/api/sales?page_size=5&ordering=store&after={first['after']}").status_code == 200


def test_sale_detail(client, sales_dataset):
    sale = Sale.objects.order_by("id").first()
    assert client.get(f"/api/sales/{sale.id}").json() == {
        "id": sale.id,
        "date": sale.date.isoformat(),
        "store": str(sale.store_id),
        "item": str(sale.item_id),
        "sales": sale.sales,
        "generated": False,
    }


def test_generated_sales_say_so(client, sales_dataset):
    from sales.services import SaleRow, sales_record_batch

    day = date(2030, 1, 1)
    sales_record_batch(rows=[SaleRow(date=day, store_id=1, item_id=1, sales=3)], generated=True)
    (row,) = client.get("/api/sales?date_from=2030-01-01").json()["results"]
    assert (row["sales"], row["generated"]) == (3, True)
    # Reported units into a generated row make it a mix: no longer "generated".
    sales_record_batch(rows=[SaleRow(date=day, store_id=1, item_id=1, sales=2)])
    (row,) = client.get("/api/sales?date_from=2030-01-01").json()["results"]
    assert (row["sales"], row["generated"]) == (5, False)
    assert client.get("/api/sales/999999999999999999").status_code == 404


BAD_PARAMETERS = [
    (f"/api/sales?store={'x' * 65}", "store"),
    ("/api/sales?store=1,a%01b", "store"),
    ("/api/sales?item=%7F", "item"),
    ("/api/sales?item=1&item=" + ",".join(str(n) for n in range(1001)), "item"),
    ("/api/sales?date_from=yesterday", "date_from"),
    ("/api/sales?date_from=2017-02-30", "date_from"),
    ("/api/sales?date_to=2017-1-1x", "date_to"),
    ("/api/sales?date_to=01/02/2017", "date_to"),
    ("/api/sales?date_from=2017-03-01&date_to=2017-02-01", "date_from"),
    ("/api/sales?ordering=price", "ordering"),
    ("/api/sales?ordering=id;drop", "ordering"),
    ("/api/sales?page_size=1001", "page_size"),
    ("/api/sales?page_size=0", "page_size"),
    ("/api/sales?page_size=-5", "page_size"),
    ("/api/sales?page_size=ten", "page_size"),
    ("/api/sales?page=0", "page"),
    ("/api/sales?page=last", "page"),
    ("/api/sales?page=100000", "page"),
    ("/api/sales/aggregated?granularity=year", "granularity"),
    ("/api/sales/aggregated?group_by=aisle", "group_by"),
    ("/api/sales/aggregated?store=a%00b&granularity=week", "store"),
    ("/api/sales/aggregated?date_from=2017-03-01&date_to=2017-02-01", "date_from"),
    ("/api/sales/metrics?item=%1F", "item"),
    ("/api/sales/metrics?date_to=2017-13-01", "date_to"),
    ("/api/sales/metrics?date_from=2017-03-01&date_to=2017-02-28", "date_from"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD_PARAMETERS)
def test_bad_parameters_get_400_naming_the_parameter(client, sales_dataset, url, parameter):
    response = client.get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter
    assert parameter in body["error"]


NASTY_VALUES = [
    "",
    " ",
    ",",
    ",,,",
    "1,,2",
    "0x10",
    "1e3",
    "NaN",
    "-0",
    "\u0661",  # Arabic-Indic digit one: isdigit() but not ASCII
    "²",
    "9" * 400,
    "'; DROP TABLE sales_sale; --",
    "%00",
    "\x00",
    "<script>",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2017-02-29",
    "2016-02-29",
    "null",
    "[]",
    "{}",
    "true",
    "1" + ",1" * 1500,
]
PARAMETER_NAMES = [
    "store",
    "item",
    "date_from",
    "date_to",
    "ordering",
    "page",
    "page_size",
    "after",
    "granularity",
    "group_by",
]
ENDPOINTS = ["/api/sales", "/api/sales/aggregated", "/api/sales/metrics", "/api/stores", "/api/items"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_nasty_parameter_value_gives_a_500(client, sales_dataset, endpoint):
    for name in PARAMETER_NAMES:
        for value in NASTY_VALUES:
            response = client.get(endpoint, {name: value})
            assert response.status_code in (200, 400), (name, value, response.status_code)
            if response.status_code == 400:
                assert response.json()["parameter"] == name, (name, value)


@pytest.mark.parametrize("endpoint", ["/api/sales", "/api/sales/aggregated", "/api/sales/metrics"])
def test_fuzzed_query_strings_never_give_a_500(client, sales_dataset, endpoint):
    rng = random.Random(20261124)
    alphabet = string.ascii_letters + string.digits + ",-:./%&=+ _"
    fragments = [*PARAMETER_NAMES, "2016-03-01", "2017-12-31", "1", "2", "0", "-1", "week", "month", "store", "item"]
    for _ in range(150):
        parts = []
        for _ in range(rng.randint(1, 5)):
            name = rng.choice([*PARAMETER_NAMES, "x"])
            value = rng.choice([rng.choice(fragments), "".join(rng.choices(alphabet, k=rng.randint(0, 12)))])
            parts.append(f"{name}={value}")
        query = "&".join(parts)
        response = client.get(f"{endpoint}?{query}")
        assert response.status_code in (200, 400), (query, response.status_code)
        assert response["Content-Type"].startswith("application/json"), query


@pytest.mark.parametrize(
    "url", ["/api/sales", "/api/sales/", "/api/sales/aggregated", "/api/sales/metrics", "/api/stores", "/api/items"]
)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_anonymous_cannot_write(anonymous_client, sales_dataset, url, method):
    before = (Sale.objects.count(), list(DailyTotal.objects.order_by("date").values_list("sales", flat=True)))
    response = getattr(anonymous_client, method)(
        url, {"date": "2017-01-01", "store": 1, "item": 1, "sales": 5}, format="json"
    )
    assert response.status_code in (401, 403, 405)
    assert "error" in response.json()
    after = (Sale.objects.count(), list(DailyTotal.objects.order_by("date").values_list("sales", flat=True)))
    assert after == before


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_even_signed_in_users_cannot_write_through_the_read_api(client, sales_dataset, method):
    sale = Sale.objects.order_by("id").first()
    for url in ("/api/sales", f"/api/sales/{sale.id}"):
        response = getattr(client, method)(url, {"sales": 1}, format="json")
        assert response.status_code == 405
    sale.refresh_from_db()
    assert Sale.objects.filter(id=sale.id).exists()
