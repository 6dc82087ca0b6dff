"""The rollups stay in step with sales_sale on every write path (a full load, an append, recorded
batches), and the answers read from them (breakdown, metrics, counts, monthly aggregates, list
pages) equal the same answers computed from the base table, over random filters.
The live tick's path is checked in streaming/tests/test_rollups_in_step.py."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sales import selectors
from sales.sample import sample_generate
from sales.services import SaleRow, sales_load_csv, sales_record_batch
from sales.tests.factories import rollups_mismatches

pytestmark = pytest.mark.django_db

START, END = date(2016, 11, 20), date(2017, 3, 10)  # month edges, a year end, and a February


def base_rows(filters: selectors.SalesFilters) -> list[tuple[date, int, int, int]]:
    """The selection straight from sales_sale."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT date, store_id, item_id, sales FROM sales_sale")
        rows = cursor.fetchall()
    return [
        r
        for r in rows
        if (not filters.stores or r[1] in filters.stores)
        and (not filters.items or r[2] in filters.items)
        and (filters.date_from is None or r[0] >= filters.date_from)
        and (filters.date_to is None or r[0] <= filters.date_to)
    ]


def random_filters(rng: random.Random, *, stores: int, items: int) -> selectors.SalesFilters:
    def some(count: int) -> tuple[int, ...]:
        return tuple(sorted(rng.sample(range(1, count + 1), rng.randint(1, count)))) if rng.random() < 0.4 else ()

    def day() -> date | None:
        return START + timedelta(days=rng.randint(-20, (END - START).days + 20)) if rng.random() < 0.6 else None

    date_from, date_to = day(), day()
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    return selectors.SalesFilters(stores=some(stores), items=some(items), date_from=date_from, date_to=date_to)


def assert_answers_match_the_base_table(*, seed: int, stores: int, items: int, rounds: int = 40) -> None:
    assert rollups_mismatches() == []
    rng = random.Random(seed)
    for _ in range(rounds):
        filters = random_filters(rng, stores=stores, items=items)
        rows = base_rows(filters)
        groupings: tuple[tuple[selectors.GroupBy, int], ...] = (("store", 1), ("item", 2))
        for by, column in groupings:
            keyed = [(day, (store, item)[column - 1], units) for day, store, item, units in rows]
            expected: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            for _, key, units in keyed:
                expected[key][0] += units
                expected[key][1] += 1
            assert selectors.sales_by_key(filters=filters, by=by) == {k: tuple(v) for k, v in expected.items()}
            monthly: dict[tuple, int] = defaultdict(int)
            for day, key, units in keyed:
                monthly[(day.replace(day=1), key)] += units
            answer = selectors.sales_aggregated(filters=filters, granularity="month", group_by=by)
            # Each grouped row also carries its internal id (the next page's key); the answer names the code.
            assert answer == [
                {"period": p, by: str(k), "sales": v, selectors.AGGREGATED_KEY: k}
                for (p, k), v in sorted(monthly.items())
            ], filters
        assert selectors.sale_count(filters=filters) == len(rows)
        metrics = selectors.sales_metrics(filters=filters)
        assert metrics["counts"]["rows"] == len(rows)
        assert metrics["total_sales"] == sum(r[3] for r in rows)


def test_rollups_equal_the_base_table_after_a_load_an_append_and_recorded_batches(tmp_path):
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=3, items=5, start=START, end=END - timedelta(days=20), seed=3)
    sales_load_csv(path=path, followups=False)
    assert_answers_match_the_base_table(seed=1, stores=3, items=5)

    # An append that overwrites some days, adds later days and a new item.
    extra = tmp_path / "extra.csv"
    lines = ["date,store,item,sales"]
    for offset in range(-5, 20):
        day = END - timedelta(days=20) + timedelta(days=offset)
        for store in (1, 3):
            for item in (2, 6):
                lines.append(f"{day},{store},{item},{(offset * 7 + store + item) % 40}")
    extra.write_text("\n".join(lines) + "\n")
    summary = sales_load_csv(path=extra, append=True, followups=False)
    assert summary.total_rows == len(base_rows(selectors.SalesFilters()))
    assert_answers_match_the_base_table(seed=2, stores=3, items=6)

    # Days the history does not hold yet (the plain-insert path), for some series only.
    later = tmp_path / "later.csv"
    first_new = END + timedelta(days=5)
    later.write_text(
        "date,store,item,sales\n"
        + "".join(
            f"{first_new + timedelta(days=n)},{s},{i},{n + s + i}\n" for n in (0, 1) for s in (1, 2) for i in (1, 6)
        )
    )
    summary = sales_load_csv(path=later, append=True, followups=False)
    assert summary.total_rows == len(base_rows(selectors.SalesFilters()))
    assert_answers_match_the_base_table(seed=4, stores=3, items=6)

    # Recorded batches (the ingest API and the live tick go this way): existing days and new ones.
    rng = random.Random(5)
    batch = [
        SaleRow(
            date=END - timedelta(days=rng.randint(0, 60)),
            store_id=rng.randint(1, 3),
            item_id=rng.randint(1, 6),
            sales=rng.randint(0, 9),
        )
        for _ in range(200)
    ]
    sales_record_batch(rows=batch)
    sales_record_batch(rows=[SaleRow(date=END + timedelta(days=1), store_id=2, item_id=4, sales=0)])
    assert_answers_match_the_base_table(seed=3, stores=3, items=6)


def test_a_full_load_writes_each_rollup_in_date_order(tmp_path):
    # A date range then reads neighbouring pages, and a later day's deltas update neighbouring rows; in
    # (item, date) order, a few weeks of the daily item rollup sit on one page per item or more.
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=3, items=5, start=START, end=END, seed=4)
    sales_load_csv(path=path, followups=False)
    with connection.cursor() as cursor:
        for table, column in (
            ("sales_dailystoretotal", "date"),
            ("sales_dailyitemtotal", "date"),
            ("sales_dailytotal", "date"),
            ("sales_monthlystoretotal", "month"),
            ("sales_monthlyitemtotal", "month"),
            ("sales_monthlystoreitemtotal", "month"),
        ):
            cursor.execute(f"SELECT {column} FROM {table} ORDER BY ctid")
            on_disk = [row[0] for row in cursor.fetchall()]
            assert len(on_disk) > 3
            assert on_disk == sorted(on_disk), table


def test_a_failed_append_leaves_the_rollups_as_they_were(tmp_path):
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=2, items=2, start=START, end=END, seed=4)
    sales_load_csv(path=path, followups=False)
    before = selectors.sales_by_key(filters=selectors.SalesFilters(), by="item")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,store,item,sales\n2017-03-11,1,1,5\n2017-03-12,1,1,1.2345\n")
    with pytest.raises(Exception, match="line 3"):
        sales_load_csv(path=bad, append=True, followups=False)
    assert selectors.sales_by_key(filters=selectors.SalesFilters(), by="item") == before
    assert rollups_mismatches() == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "store=2",
        "item=1,3",
        "store=1&item=2",
        "date_from=2016-12-31&date_to=2017-02-01",
        "item=5&date_to=2017-01-01",
    ],
)
def test_list_pages_count_from_the_rollups_and_are_right_at_the_edges(tmp_path, client, query):
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=2, items=5, start=START, end=END, seed=6)
    sales_load_csv(path=path, followups=False)
    everything = client.get(f"/api/sales?{query}&page_size=1000&ordering=date").json()
    rows = everything["results"]
    while everything["next"]:
        everything = client.get(everything["next"]).json()
        rows += everything["results"]
    count = everything["count"]
    assert count == len(rows) == len({r["id"] for r in rows})
    parsed = dict(part.split("=") for part in query.split("&") if part)
    filters = selectors.SalesFilters(
        stores=tuple(int(x) for x in parsed.get("store", "").split(",") if x),
        items=tuple(int(x) for x in parsed.get("item", "").split(",") if x),
        date_from=date.fromisoformat(parsed["date_from"]) if "date_from" in parsed else None,
        date_to=date.fromisoformat(parsed["date_to"]) if "date_to" in parsed else None,
    )
    assert count == len(base_rows(filters))
    # The last page holds the remainder, one past it is a 400 naming the page, and no COUNT(*) runs on the table.
    size = 7
    last = -(-count // size)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/api/sales?{query}&page_size={size}&page={last}").json()
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and '"sales_sale"' in q["sql"]] == [] or (
        "store" in parsed and "item" in parsed
    )
    assert len(page["results"]) == count - (last - 1) * size and page["next"] is None
    assert page["results"] == rows[(last - 1) * size :]
    beyond = client.get(f"/api/sales?{query}&page_size={size}&page={last + 1}")
    assert beyond.status_code == 400 and beyond.json()["parameter"] == "page"


def test_the_check_finds_a_sale_of_an_unknown_store():
    """rollups_mismatches is what stands in for the foreign keys the sales tables do not have: it must see one."""
    from django.db.models import ProtectedError

    from sales.models import Sale, Store
    from sales.tests.factories import items_create, stores_create

    stores_create(ids=[2])
    items_create(ids=[1])
    sales_record_batch(rows=[SaleRow(date=START, store_id=2, item_id=1, sales=3)])
    assert rollups_mismatches() == []
    with pytest.raises(ProtectedError):  # the ORM still refuses to delete a store that has sales
        Store.objects.filter(id=2).delete()
    Sale.objects.create(date=START, store_id=99, item_id=1, sales=1)  # what no writer does: an unknown store
    assert any("sales_sale names an unknown store or item" in problem for problem in rollups_mismatches())
