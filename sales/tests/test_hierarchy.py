"""Reads by region, category and department: over random filters, every level's figure equals the sum
of its children's and the base table's answer (a plain ORM aggregate over Sale); the rollups by
department stay in step on every write and after a change of the hierarchy; no such read scans
sales_sale; the API takes the levels' codes and refuses unknown ones naming the parameter."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.test.utils import CaptureQueriesContext

from sales import rollups, selectors
from sales.models import Category, Department, Item, Region, Sale, Store
from sales.services import SaleRow, sales_record_batch
from sales.tests.factories import rollups_mismatches

pytestmark = pytest.mark.django_db

START, END = date(2016, 11, 20), date(2017, 3, 10)  # month edges, a year end, and a February
STORES, ITEMS = 5, 9


def hierarchy_create() -> None:
    """Two regions (store 5 in none), two categories and a department in none, items 9 in none."""
    ca, tx = Region.objects.create(code="CA", name="California"), Region.objects.create(code="TX")
    foods, hobbies = Category.objects.create(code="FOODS"), Category.objects.create(code="HOBBIES")
    departments = [
        Department.objects.create(code="FOODS_1", category=foods),
        Department.objects.create(code="FOODS_2", category=foods),
        Department.objects.create(code="HOBBIES_1", category=hobbies),
        Department.objects.create(code="LOOSE", category=None),
    ]
    for n, region in zip(range(1, STORES + 1), (ca, ca, tx, tx, None), strict=True):
        Store.objects.create(id=n, code=f"S{n}", name=f"Store {n}", region=region)
    for n in range(1, ITEMS + 1):
        department = departments[(n - 1) % 4] if n < ITEMS else None
        Item.objects.create(id=n, code=f"I{n}", name=f"Item {n}", department=department)


def sales_write(*, seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        SaleRow(date=START + timedelta(days=offset), store_id=store, item_id=item, sales=rng.randint(0, 30))
        for offset in range((END - START).days + 1)
        for store in range(1, STORES + 1)
        for item in range(1, ITEMS + 1)
        if rng.random() < 0.8
    ]
    # Two batches: the second adds to rows the first created (the deltas' other case).
    sales_record_batch(rows=rows[: len(rows) // 2])
    sales_record_batch(rows=rows[len(rows) // 3 :])


@pytest.fixture
def history():
    hierarchy_create()
    sales_write(seed=1)
    assert rollups_mismatches() == []


def some(rng: random.Random, ids: list[int]) -> tuple[int, ...]:
    return tuple(sorted(rng.sample(ids, rng.randint(1, len(ids))))) if rng.random() < 0.3 else ()


def random_filters(rng: random.Random) -> selectors.SalesFilters:
    def day() -> date | None:
        return START + timedelta(days=rng.randint(-10, (END - START).days + 10)) if rng.random() < 0.6 else None

    date_from, date_to = day(), day()
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    return selectors.SalesFilters(
        stores=some(rng, list(range(1, STORES + 1))),
        items=some(rng, list(range(1, ITEMS + 1))),
        regions=some(rng, list(Region.objects.values_list("id", flat=True))),
        categories=some(rng, list(Category.objects.values_list("id", flat=True))),
        departments=some(rng, list(Department.objects.values_list("id", flat=True))),
        date_from=date_from,
        date_to=date_to,
    )


# How a Sale row reaches each grouping's key (0 where it has none, as the answers' unassigned group).
SALE_KEYS = {
    "store": F("store_id"),
    "item": F("item_id"),
    "region": Coalesce("store__region_id", 0),
    "department": Coalesce("item__department_id", 0),
    "category": Coalesce("item__department__category_id", 0),
}
# Each level's children.
CHILDREN = {"region": "store", "department": "item", "category": "department"}


def base_answer(filters: selectors.SalesFilters, granularity: str, group_by: str | None) -> dict[tuple, int]:
    """{(period[, key]): units} straight from sales_sale with the ORM, the reads' reference."""
    sales = Sale.objects.all()
    lookups = {
        "store_id__in": filters.stores,
        "item_id__in": filters.items,
        "store__region_id__in": filters.regions,
        "item__department_id__in": filters.departments,
        "item__department__category_id__in": filters.categories,
    }
    for lookup, ids in lookups.items():
        if ids:
            sales = sales.filter(**{lookup: ids})
    if filters.date_from:
        sales = sales.filter(date__gte=filters.date_from)
    if filters.date_to:
        sales = sales.filter(date__lte=filters.date_to)
    period = {"day": F("date"), "week": TruncWeek("date"), "month": TruncMonth("date")}[granularity]
    keys = ["period", *(["key"] if group_by else [])]
    if group_by:
        sales = sales.annotate(key=SALE_KEYS[group_by])
    grouped = sales.annotate(period=period).values(*keys).annotate(units=Sum("sales")).order_by()
    return {tuple(row[k] for k in keys): row["units"] for row in grouped}


def answer(filters: selectors.SalesFilters, granularity: str, group_by: str | None) -> dict[tuple, int]:
    rows = selectors.sales_aggregated(filters=filters, granularity=granularity, group_by=group_by)  # type: ignore[arg-type]
    if group_by is None:
        return {(row["period"],): row["sales"] for row in rows}
    return {(row["period"], row[selectors.AGGREGATED_KEY]): row["sales"] for row in rows}


def parent_of(level: str) -> dict[int, int]:
    """{child id: its node's id (0 for none)} for a level's children."""
    model, column = {"region": (Store, "region_id"), "department": (Item, "department_id")}.get(
        level, (Department, "category_id")
    )
    return dict(model._default_manager.annotate(node=Coalesce(column, 0)).values_list("id", "node"))


def rolled_up(children: dict[tuple, int], parents: dict[int, int]) -> dict[tuple, int]:
    """The children's figures summed by their node (a department's children with no department: 0 stays 0)."""
    totals: dict[tuple, int] = defaultdict(int)
    for (period, child), units in children.items():
        totals[(period, parents.get(child, 0))] += units
    return dict(totals)


def test_every_level_equals_the_sum_of_its_children_and_the_base_table(history):
    rng = random.Random(11)
    for _ in range(25):
        filters = random_filters(rng)
        granularity = rng.choice(selectors.GRANULARITIES)
        answers = {by: answer(filters, granularity, by) for by in (None, *selectors.GROUP_BYS)}
        for by, found in answers.items():
            assert found == base_answer(filters, granularity, by), (filters, granularity, by)
        total = sum(answers[None].values())
        for level, child in CHILDREN.items():
            assert answers[level] == rolled_up(answers[child], parent_of(level)), (filters, level)
            assert sum(answers[level].values()) == total
        for by in selectors.GROUP_BYS:
            by_key = selectors.sales_by_key(filters=filters, by=by)
            assert sum(units for units, _ in by_key.values()) == total
            breakdown = selectors.sales_breakdown(filters=filters, by=by, top=3)
            assert breakdown.total == total == sum(row.sales for row in breakdown.rows) + breakdown.other_sales
        metrics = selectors.sales_metrics(filters=filters, today=END)
        assert metrics["total_sales"] == total
        assert metrics["counts"]["rows"] == selectors.sale_count(filters=filters)


def test_no_read_by_level_scans_the_base_table(history, client):
    queries = [
        "group_by=department&granularity=day",
        "group_by=category&granularity=week&region=CA",
        "group_by=region&granularity=month&category=FOODS&date_from=2016-12-05",
        "group_by=store&department=FOODS_1,HOBBIES_1&date_to=2017-02-14",
        "category=HOBBIES&region=TX",
    ]
    with CaptureQueriesContext(connection) as captured:
        for query in queries:
            assert client.get(f"/api/sales/aggregated?{query}").status_code == 200
        for by in ("region", "category", "department", "store"):
            assert client.get(f"/api/sales/breakdown?by={by}&category=FOODS&region=CA").status_code == 200
        assert client.get("/api/sales/metrics?department=FOODS_2,HOBBIES_1&date_from=2016-12-10").status_code == 200
    assert [q["sql"] for q in captured if '"sales_sale"' in q["sql"]] == []
    # With a region, the metrics' top items are a store x item question, read like a store filter's
    # (whole months from the monthly store-item rollup): only the days at either end reach sales_sale.
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/sales/metrics?department=FOODS_2&region=TX&date_from=2016-12-10").status_code == 200
    assert all('"sales_sale"."date" >=' in q["sql"] for q in captured if '"sales_sale"' in q["sql"])


def test_the_api_groups_and_filters_by_level_codes(history, client):
    rows = client.get("/api/sales/aggregated?granularity=month&group_by=category").json()["results"]
    assert {row["category"] for row in rows} == {"FOODS", "HOBBIES", None}  # None: LOOSE and item 9
    total = sum(row["sales"] for row in client.get("/api/sales/aggregated?granularity=month").json()["results"])
    assert sum(row["sales"] for row in rows) == total
    foods_ca = client.get("/api/sales/aggregated?granularity=month&group_by=department&category=FOODS&region=CA")
    assert {row["department"] for row in foods_ca.json()["results"]} == {"FOODS_1", "FOODS_2"}
    expected = Sale.objects.filter(item__department__category__code="FOODS", store__region__code="CA")
    assert sum(row["sales"] for row in foods_ca.json()["results"]) == expected.aggregate(s=Sum("sales"))["s"]
    breakdown = client.get("/api/sales/breakdown?by=region&top=10").json()
    assert [row["id"] for row in breakdown["rows"] if row["id"] is None] == [None]  # store 5: no region
    assert breakdown["count"] == 3 and breakdown["total"] == total
    csv = client.get("/api/sales/aggregated?granularity=month&group_by=region&format=csv")
    lines = b"".join(csv).decode().splitlines()  # an async stream: iterating the response reads it
    assert lines[0] == "period,region,sales" and any(line.split(",")[1] == "" for line in lines[1:])
    listed = client.get("/api/sales?department=FOODS_1&region=TX&page_size=5").json()
    assert listed["count"] == Sale.objects.filter(item__department__code="FOODS_1", store__region__code="TX").count()
    assert {row["store"] for row in listed["results"]} <= {"S3", "S4"}


@pytest.mark.parametrize("path", ["/api/sales/aggregated", "/api/sales/metrics", "/api/sales/breakdown", "/api/sales"])
@pytest.mark.parametrize("parameter", ["region", "category", "department"])
def test_an_unknown_level_code_is_a_400_naming_the_parameter(history, client, path, parameter):
    response = client.get(f"{path}?{parameter}=NOPE")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter and "NOPE" in response.json()["error"]


def test_a_change_of_department_needs_only_the_hierarchy_rebuild(history):
    item = Item.objects.get(id=1)
    item.department = Department.objects.get(code="HOBBIES_1")
    item.save(update_fields=["department"])
    Item.objects.filter(id=ITEMS).update(department=Department.objects.get(code="FOODS_2"))
    assert rollups_mismatches() != []
    with connection.cursor() as cursor:
        rollups.rollups_hierarchy_rebuild(cursor=cursor)
    assert rollups_mismatches() == []
    # A store moved to another region, a department to another category: read through joins, nothing to rebuild.
    Store.objects.filter(id=5).update(region=Region.objects.get(code="CA"))
    Department.objects.filter(code="LOOSE").update(category=Category.objects.get(code="FOODS"))
    assert rollups_mismatches() == []
    filters = selectors.SalesFilters(categories=(Category.objects.get(code="FOODS").id,))
    assert answer(filters, "month", "region") == base_answer(filters, "month", "region")
    # Later writes land under the new departments.
    sales_write(seed=2)
    assert rollups_mismatches() == []
