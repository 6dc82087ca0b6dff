"""Test data for the sales API: a generated history written through the real
write path (`sales_record_batch`), so the rollups are the ones production keeps.

The sales tests get it as the module-scoped `sales_dataset` fixture (sales/tests/conftest.py).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from django.db import connection, models
from django.db.models import Exists, OuterRef, Q

from sales import rollups
from sales.models import (
    DailyDepartmentTotal,
    DailyStoreDepartmentTotal,
    Department,
    Item,
    MonthlyDepartmentTotal,
    MonthlyStoreDepartmentTotal,
    MonthlyStoreItemTotal,
    Sale,
    Store,
)
from sales.services import SaleRow, sales_record_batch


def stores_create(*, ids: Iterable[int]) -> list[Store]:
    return [Store.objects.get_or_create(id=i, defaults={"code": str(i), "name": f"Store {i}"})[0] for i in ids]


def items_create(*, ids: Iterable[int]) -> list[Item]:
    return [Item.objects.get_or_create(id=i, defaults={"code": str(i), "name": f"Item {i}"})[0] for i in ids]


def dataset_create(
    *,
    stores: int = 3,
    items: int = 4,
    start: date = date(2015, 6, 1),
    days: int = 800,
    seed: int = 7,
    gap_rate: float = 0.1,
) -> list[SaleRow]:
    """Random daily sales for stores x items over `days` days from `start`, with
    about `gap_rate` of the (date, store, item) rows missing and some zero days.
    Store `stores` only starts halfway, so a store filter changes the date range."""
    rng = random.Random(seed)
    stores_create(ids=range(1, stores + 1))
    items_create(ids=range(1, items + 1))
    late_start = start + timedelta(days=days // 2)
    rows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for store in range(1, stores + 1):
            if store == stores and stores > 1 and day < late_start:
                continue
            for item in range(1, items + 1):
                if rng.random() < gap_rate:
                    continue
                rows.append(SaleRow(date=day, store_id=store, item_id=item, sales=rng.randint(0, 60) * store))
    sales_record_batch(rows=rows)
    return rows


def sales_delete_all() -> None:
    """Empty the sales tables, every rollup (named: some have no foreign key to cascade along) and, by
    CASCADE, any table of another app that refers to stores or items. TRUNCATE rather than the ORM's
    delete: the ORM would walk every related model in Python, including ones whose tables a test
    database may not have yet."""
    tables = [*rollups.TABLES, *(model._meta.db_table for model in (Sale, Store, Item))]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


@contextmanager
def dataset_installed(*, django_db_blocker) -> Iterator[list[SaleRow]]:
    """The default dataset, committed outside the per-test transactions so a whole
    module shares it, and removed afterwards. Yields the rows as written, for
    computing expected figures independently of the database."""
    with django_db_blocker.unblock():
        sales_delete_all()
        rows = dataset_create()
    try:
        yield rows
    finally:
        with django_db_blocker.unblock():
            sales_delete_all()


# ---------------------------------------------------------------- plain-Python reference figures


def rows_select(
    rows: list[SaleRow],
    *,
    stores: Iterable[int] = (),
    items: Iterable[int] = (),
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[SaleRow]:
    stores, items = set(stores), set(items)
    return [
        r
        for r in rows
        if (not stores or r.store_id in stores)
        and (not items or r.item_id in items)
        and (date_from is None or r.date >= date_from)
        and (date_to is None or r.date <= date_to)
    ]


def period_of(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def totals_by(rows: list[SaleRow], key) -> dict:
    totals: dict = defaultdict(int)
    for row in rows:
        totals[key(row)] += row.sales
    return dict(totals)


# ---------------------------------------------------------------- rollups against the base table


def rollups_mismatches() -> list[str]:
    """Every rollup row that differs from a fresh GROUP BY of sales_sale (units or row count; the rollups
    by department join each row's item to its department as it is now), and every sales or rollup row
    naming a store, item or department that does not exist (those tables have no foreign-key constraint
    in the database: the writers keep it true), as text; empty when every rollup is in step."""
    problems = []
    for model in (Sale, MonthlyStoreItemTotal):
        orphans = model.objects.filter(
            ~Exists(Store.objects.filter(pk=OuterRef("store_id")))
            | ~Exists(Item.objects.filter(pk=OuterRef("item_id")))
        )
        problems += [f"{model._meta.db_table} names an unknown store or item: {row}" for row in orphans.values()[:5]]
    by_department: tuple[type[models.Model], ...] = (
        DailyStoreDepartmentTotal,
        MonthlyStoreDepartmentTotal,
        DailyDepartmentTotal,
        MonthlyDepartmentTotal,
    )
    for rollup_model in by_department:
        unknown: Q = Q(~Exists(Department.objects.filter(pk=OuterRef("department_id"))), department_id__isnull=False)
        if rollup_model in (DailyStoreDepartmentTotal, MonthlyStoreDepartmentTotal):
            unknown |= Q(~Exists(Store.objects.filter(pk=OuterRef("store_id"))))
        found = rollup_model._default_manager.filter(unknown).values()[:5]
        problems += [f"{rollup_model._meta.db_table} names an unknown key: {row}" for row in found]
    with connection.cursor() as cursor:
        for rollup in rollups.ALL_ROLLUPS:
            problems += _rollup_mismatches(cursor=cursor, rollup=rollup)
    return problems


def _rollup_mismatches(*, cursor, rollup: rollups.Rollup) -> list[str]:
    count = len(rollup.keys)
    base_keys = ", ".join(f"b{n}" for n in range(count))
    roll_keys = ", ".join(f"r{n}" for n in range(count))
    # The null department as 0 on both sides: a FULL JOIN needs an equality (IS NOT DISTINCT FROM is not one).
    exprs = ", ".join(f"coalesce({e}, 0)" if e == "department_id" else e for e in rollup.exprs)
    keys = ", ".join(f"coalesce({k}, 0)" if k == "department_id" else k for k in rollup.keys)
    cursor.execute(
        f"""
        SELECT * FROM (
            SELECT {exprs}, sum(sales), count(*)::int FROM {rollup.relation("sales_sale")} AS d
            GROUP BY {exprs}
        ) AS base ({base_keys}, b_sales, b_rows)
        FULL JOIN (SELECT {keys}, sales, rows FROM {rollup.table})
            AS r ({roll_keys}, r_sales, r_rows) ON ({base_keys}) = ({roll_keys})
        WHERE b_sales IS DISTINCT FROM r_sales OR b_rows IS DISTINCT FROM r_rows
        LIMIT 5
        """
    )
    return [f"{rollup.table}: {row}" for row in cursor.fetchall()]


# A Friday: Walmart's weeks end on one.
FIRST_FRIDAY = date(2012, 2, 3)


def weekly_rows(*, weeks: int, first: date = FIRST_FRIDAY) -> list[SaleRow]:
    """2 stores x 2 items, a row each Friday: units grow by one a week, so every window differs."""
    stores_create(ids=[1, 2])
    items_create(ids=[1, 2])
    return [
        SaleRow(date=first + timedelta(weeks=w), store_id=s, item_id=i, sales=10 + w + s + i)
        for w in range(weeks)
        for s in (1, 2)
        for i in (1, 2)
    ]
