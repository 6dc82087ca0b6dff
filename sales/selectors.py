"""Reads of the sales history: row lists, aggregates and KPIs.

Aggregates and KPIs read the smallest rollup that can answer the filters (see
`rollup_for`: whole months from the monthly rollups, the days at either end from
the daily ones), so no request scans the base table unless it filters by store and
item at once (then its covering (store, item, date) index serves it). Nothing is
cached: the rollups are kept in step by every write.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from django.conf import settings
from django.db import connection, models
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, ExtractWeekDay, TruncMonth, TruncWeek
from django.utils import timezone

from core.registry import Registry
from sales.models import (
    Category,
    DailyDepartmentTotal,
    DailyItemTotal,
    DailyStoreDepartmentTotal,
    DailyStoreTotal,
    DailyTotal,
    Department,
    Item,
    MonthlyDepartmentTotal,
    MonthlyItemTotal,
    MonthlyStoreDepartmentTotal,
    MonthlyStoreItemTotal,
    MonthlyStoreTotal,
    Region,
    Sale,
    Store,
)

logger = logging.getLogger(__name__)

Granularity = Literal["day", "week", "month"]
GroupBy = Literal["store", "item", "region", "category", "department"]
GRANULARITIES: tuple[str, ...] = ("day", "week", "month")
GROUP_BYS: tuple[str, ...] = ("store", "item", "region", "category", "department")
# The levels above stores and items. Grouped by one, the stores (items) that have none form one group
# whose key is UNASSIGNED (its code null), so that a level's groups always add up to the total.
LEVELS: tuple[str, ...] = ("region", "category", "department")
UNASSIGNED = 0

Catalogue = type[Store] | type[Item] | type[Region] | type[Category] | type[Department]
# The catalogue each grouping names its rows from.
CATALOGUES: dict[str, Catalogue] = {
    "store": Store,
    "item": Item,
    "region": Region,
    "category": Category,
    "department": Department,
}
# Units as the database sums them: exact decimals (numeric), negative on a day of net returns. An answer
# gives them as JSON numbers (core.numbers); a whole figure compares equal to its int.
Units = Decimal | int


@dataclass(frozen=True)
class SalesFilters:
    """The filters every sales endpoint shares, as internal ids. Empty tuples / None mean "no filter";
    dates are inclusive; filters of different kinds combine with AND (Foods in Texas)."""

    stores: tuple[int, ...] = ()
    items: tuple[int, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    regions: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    departments: tuple[int, ...] = ()

    @property
    def by_level(self) -> bool:
        """Whether a level of the hierarchy (region, category, department) is filtered."""
        return bool(self.regions or self.categories or self.departments)

    # The levels' filters as the ids of the stores, departments and items under them, read once per filters.
    # As lists of ids rather than subqueries: PostgreSQL then reads the rollups' (store, department, date)
    # index for just those keys (a subquery's selectivity is unknown to it when it plans, and it read
    # every key's rows by date instead: up to three times slower at 913,000 rows).
    @functools.cached_property
    def region_stores(self) -> tuple[int, ...]:
        return tuple(level_members(level="region", ids=self.regions).values_list("id", flat=True))

    @functools.cached_property
    def category_departments(self) -> tuple[int, ...]:
        found = Department.objects.filter(category_id__in=self.categories).order_by("id")
        return tuple(found.values_list("id", flat=True))

    @functools.cached_property
    def level_items(self) -> tuple[int, ...]:
        """The items under both the departments and the categories filtered (either may be empty: no filter)."""
        items = Item.objects.order_by("id")
        if self.departments:
            items = items.filter(department_id__in=self.departments)
        if self.categories:
            items = items.filter(department__category_id__in=self.categories)
        return tuple(items.values_list("id", flat=True))


def units_number(value: Any) -> Any:
    """Units as the answers give them: a whole number of units as an int. The rollups by department hold
    exact decimals (numeric(18,3)); the others whole numbers, and both kinds must read alike."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


# ---------------------------------------------------------------- lists


def _searched(queryset: models.QuerySet, search: str | None) -> models.QuerySet:
    """Codes or names containing `search` (any case)."""
    search = (search or "").strip()
    if not search:
        return queryset
    return queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))


def _coded(queryset: models.QuerySet, field: str, codes: tuple[str, ...]) -> models.QuerySet:
    """Only rows under one of `codes` (a code that names nothing selects nothing); no codes: all."""
    return queryset.filter(**{f"{field}__in": codes}) if codes else queryset


def store_list(*, search: str | None = None, regions: tuple[str, ...] = ()) -> models.QuerySet[Store]:
    """Stores in id order: by code or name (`search`), in these regions (codes)."""
    stores = _coded(Store.objects.select_related("region").order_by("id"), "region__code", regions)
    return _searched(stores, search)


def item_list(
    *, search: str | None = None, categories: tuple[str, ...] = (), departments: tuple[str, ...] = ()
) -> models.QuerySet[Item]:
    """Items in id order: by code or name (`search`), in these categories and departments (codes; both: AND)."""
    items = Item.objects.select_related("department__category").order_by("id")
    items = _coded(_coded(items, "department__category__code", categories), "department__code", departments)
    return _searched(items, search)


def region_list(*, search: str | None = None) -> models.QuerySet[Region]:
    return _searched(Region.objects.order_by("code"), search)


def category_list(*, search: str | None = None) -> models.QuerySet[Category]:
    return _searched(Category.objects.order_by("code"), search)


def department_list(*, search: str | None = None, categories: tuple[str, ...] = ()) -> models.QuerySet[Department]:
    """Departments in code order: by code or name (`search`), in these categories (codes)."""
    departments = Department.objects.select_related("category").order_by("code")
    return _searched(_coded(departments, "category__code", categories), search)


# A code that names no store (item) resolves to this id, which none has: the selection is then empty,
# as it was for an unknown number before codes.
NO_ID = 0


def codes_resolve(*, model: Catalogue, codes: Iterable[str]) -> tuple[int, ...]:
    """The ids of the stores (items, regions, categories, departments) with these codes, sorted; NO_ID stands for the codes that name
    none. Empty for no codes (no filter)."""
    codes = set(codes)
    if not codes:
        return ()
    found = dict(model.objects.filter(code__in=codes).values_list("code", "id"))
    ids = set(found.values()) | ({NO_ID} if len(found) < len(codes) else set())
    return tuple(sorted(ids))


class UnknownCodes(LookupError):
    """Codes of a level (region, category, department) that name no node of it."""

    def __init__(self, *, level: str, codes: list[str]) -> None:
        super().__init__(f"no {level} with code {', '.join(repr(code) for code in codes[:5])}")
        self.level = level
        self.codes = codes


def level_codes_resolve(*, level: str, codes: Iterable[str]) -> tuple[int, ...]:
    """The sorted ids of the regions (categories, departments) with these codes; UnknownCodes if one
    names none. A level's nodes are few and typed by hand, so a typo is refused rather than answered
    with an empty selection. Empty for no codes (no filter)."""
    codes = set(codes)
    found = codes_resolve_each(model=CATALOGUES[level], codes=codes)
    if len(found) < len(codes):
        raise UnknownCodes(level=level, codes=sorted(codes - set(found)))
    return tuple(sorted(found.values()))


def level_members(*, level: str, ids: Iterable[int]) -> models.QuerySet:
    """The ids (a subquery) of the stores in these regions, or of the items in these categories
    (departments)."""
    if level == "region":
        return Store.objects.filter(region_id__in=ids).order_by("id").values("id")
    if level == "department":
        return Item.objects.filter(department_id__in=ids).order_by("id").values("id")
    return Item.objects.filter(department__category_id__in=ids).order_by("id").values("id")


# The most codes of each kind `catalogue_named` looks up (the API takes as many per filter).
MAX_NAMED_CODES = 1000


def catalogue_named(*, stores: list[str], items: list[str]) -> dict[str, list[dict[str, str]]]:
    """The codes and names of the stores and items among these codes (the dashboard URL's selection): the
    page shows their names at once and never embeds the whole catalogue (its pickers search the API)."""
    return {
        "stores": [
            {"code": code, "name": name}
            for code, name in Store.objects.filter(code__in=stores[:MAX_NAMED_CODES]).values_list("code", "name")
        ],
        "items": [
            {"code": code, "name": name}
            for code, name in Item.objects.filter(code__in=items[:MAX_NAMED_CODES]).values_list("code", "name")
        ],
    }


def codes_resolve_each(*, model: Catalogue, codes: Iterable[str]) -> dict[str, int]:
    """{code: id} of the stores (items) these codes name (a code that names none is left out)."""
    codes = set(codes)
    if not codes:
        return {}
    return dict(model.objects.filter(code__in=codes).values_list("code", "id"))


def codes_of(*, model: Catalogue, ids: Iterable[int]) -> dict[int, str]:
    """{id: code} of these stores (items, or a level's nodes): how every answer turns internal ids back
    into codes."""
    ids = set(ids)
    if not ids:
        return {}
    return dict(model.objects.filter(id__in=ids).values_list("id", "code"))


def _code(codes: dict[int, str], key: int, *, group_by: str) -> str | None:
    """A grouped row's code: null for a level's unassigned group."""
    if group_by in LEVELS and key == UNASSIGNED:
        return None
    return codes.get(key, str(key))


@dataclass(frozen=True)
class UnknownIds:
    """The store and item ids of a request that name nothing (both empty: every id is known)."""

    stores: frozenset[int]
    items: frozenset[int]

    def __bool__(self) -> bool:
        return bool(self.stores or self.items)


def stores_items_unknown(
    *, store_ids: Iterable[int] = (), item_ids: Iterable[int] = (), with_sales: bool = False
) -> UnknownIds:
    """The ids among `store_ids`/`item_ids` with no Store/Item row: the one "does this store/item exist"
    check of every app. With `with_sales`, known means "has sales history" (a row in the daily rollups),
    for callers that need a series and not only a name. One query per kind asked about, none for none."""
    store_ids, item_ids = frozenset(store_ids), frozenset(item_ids)
    if with_sales:
        known_stores = _ids_present(DailyStoreTotal, "store_id", store_ids)
        known_items = _ids_present(DailyItemTotal, "item_id", item_ids)
    else:
        known_stores = _ids_present(Store, "id", store_ids)
        known_items = _ids_present(Item, "id", item_ids)
    return UnknownIds(stores=store_ids - known_stores, items=item_ids - known_items)


def _ids_present(model: type[models.Model], column: str, ids: frozenset[int]) -> frozenset[int]:
    if not ids:
        return frozenset()
    return frozenset(model._default_manager.filter(**{f"{column}__in": ids}).values_list(column, flat=True).distinct())


@dataclass(frozen=True)
class HistorySpan:
    """The first and last day with any sales; both None when the history is empty."""

    first: date | None
    last: date | None


def history_span() -> HistorySpan:
    """The days the history runs over (from the daily rollup)."""
    span = DailyTotal.objects.aggregate(first=Min("date"), last=Max("date"))
    return HistorySpan(first=span["first"], last=span["last"])


DAILY, WEEKLY = "D", "W"
# Fewer days with sales than this: too few to call a history weekly (the reader's rule for a file's first rows).
WEEKLY_MIN_DATES = 3


def history_frequency() -> str:
    """The history's frequency from its dates: WEEKLY ("W") when it holds at least WEEKLY_MIN_DATES days
    with sales and all of them fall on one weekday (every two dates a whole number of weeks apart: one row
    a week, dated on the week's last day, e.g. Walmart's Fridays), else DAILY ("D"). Read from the daily
    total rollup (one row a day), so it costs one small aggregate; nothing is stored, so every load,
    append or ingest is reflected at once."""
    found = DailyTotal.objects.aggregate(days=Count("date"), weekdays=Count(ExtractWeekDay("date"), distinct=True))
    return WEEKLY if found["days"] >= WEEKLY_MIN_DATES and found["weekdays"] == 1 else DAILY


def generated_first_day() -> date | None:
    """The first day with generated sales (Sale.generated), None when every sale is reported."""
    return Sale.objects.filter(generated=True).aggregate(first=models.Min("date"))["first"]


def sale_list(*, filters: SalesFilters | None = None) -> models.QuerySet[Sale]:
    """Sale rows, in (date, store, item) order (the unique index's order, so the
    first pages come straight off the index)."""
    queryset = Sale.objects.order_by("date", "store_id", "item_id")
    if filters is not None:
        queryset = _keyed(_dated(queryset, "date", filters.date_from, filters.date_to), filters=filters, model=Sale)
    return queryset


# ---------------------------------------------------------------- aggregates


def history_frames(*, max_rows: int) -> Iterator[pd.DataFrame]:
    """The whole daily history as DataFrames (date as datetime64, store and item as int64, sales as float64:
    units may have decimals), each holding every row of a run of items (all their stores), about `max_rows`
    rows at most: whole series, in
    bounded memory whatever the history's size (tens of millions of rows in one frame would take many GB).

    Read with COPY ... TO STDOUT and parsed by pandas: an ORM iteration over tens of millions of rows
    costs minutes in Python objects alone."""
    days = DailyTotal.objects.count()
    stores = Store.objects.count()
    item_ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    step = max(1, max_rows // max(1, days * stores))
    for start in range(0, len(item_ids), step):
        group = item_ids[start : start + step]
        queryset = Sale.objects.filter(item_id__gte=group[0], item_id__lte=group[-1]).values_list(
            "date", "store_id", "item_id", "sales"
        )
        statement, params = queryset.order_by().query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({statement}) TO STDOUT", params) as copy:
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        frame = pd.read_csv(
            buffer,
            sep="\t",
            header=None,
            names=["date", "store", "item", "sales"],
            parse_dates=["date"],
            dtype={"sales": "float64"},
        )
        if not frame.empty:
            yield frame


# The grain of each table: whether it is keyed by store, and by item or by department.
_GRAIN: dict[type[models.Model], tuple[bool, str | None]] = {
    DailyTotal: (False, None),
    DailyStoreTotal: (True, None),
    MonthlyStoreTotal: (True, None),
    DailyItemTotal: (False, "item"),
    MonthlyItemTotal: (False, "item"),
    DailyDepartmentTotal: (False, "department"),
    MonthlyDepartmentTotal: (False, "department"),
    DailyStoreDepartmentTotal: (True, "department"),
    MonthlyStoreDepartmentTotal: (True, "department"),
    Sale: (True, "item"),
    MonthlyStoreItemTotal: (True, "item"),
}
_DAILY: dict[tuple[bool, str | None], type[models.Model]] = {
    (False, None): DailyTotal,
    (True, None): DailyStoreTotal,
    (False, "item"): DailyItemTotal,
    (False, "department"): DailyDepartmentTotal,
    (True, "department"): DailyStoreDepartmentTotal,
    (True, "item"): Sale,
}


def rollup_for(*, filters: SalesFilters, group_by: str | None = None) -> type[models.Model]:
    """Which table answers these filters, split by `group_by`: the smallest daily one with a fine
    enough grain (sales_sale itself only when stores and items both matter). Regions are read through
    the store, categories through the department: the rollups by store and by department answer
    them. The one place that decides it."""
    by_store = bool(filters.stores or filters.regions) or group_by in ("store", "region")
    item_side: str | None = None
    if filters.items or group_by == "item":
        item_side = "item"
    elif filters.departments or filters.categories or group_by in ("department", "category"):
        item_side = "department"
    return _DAILY[(by_store, item_side)]


# The monthly rollup beside each daily one keyed by more than the day.
MONTHLY: dict[type[models.Model], type[models.Model]] = {
    DailyStoreTotal: MonthlyStoreTotal,
    DailyItemTotal: MonthlyItemTotal,
    Sale: MonthlyStoreItemTotal,
    DailyDepartmentTotal: MonthlyDepartmentTotal,
    DailyStoreDepartmentTotal: MonthlyStoreDepartmentTotal,
}


def group_key(*, model: type[models.Model], group_by: str) -> models.Expression | models.F:
    """The expression of a row's group in `model` (one `rollup_for` chose for this group_by): a store's
    or item's id, or the id of the node above it, UNASSIGNED where it has none."""
    _, item_side = _GRAIN[model]
    path = {
        "store": "store_id",
        "item": "item_id",
        "region": "store__region_id",
        "department": "department_id" if item_side == "department" else "item__department_id",
        "category": "department__category_id" if item_side == "department" else "item__department__category_id",
    }[group_by]
    if group_by in LEVELS:
        return Coalesce(models.F(path), UNASSIGNED)
    return models.F(path)


def _month_end(day: date) -> date:
    if (day.year, day.month) == (date.max.year, date.max.month):
        return date.max
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class CalendarSplit:
    """A date range as whole months (read from a monthly rollup) and the days left at either
    end (read from the daily one). `months` is None when no whole month fits; its bounds are
    1sts of months, either may be None for "open"."""

    days: tuple[tuple[date | None, date | None], ...]
    months: tuple[date | None, date | None] | None


def calendar_split(*, date_from: date | None, date_to: date | None) -> CalendarSplit:
    whole = CalendarSplit(days=((date_from, date_to),), months=None)
    if date_from is not None and date_from.day != 1 and _month_end(date_from) == date.max:
        return whole
    if date_to is not None and date_to != _month_end(date_to) and date_to.replace(day=1) == date.min:
        return whole
    first = date_from if date_from is None or date_from.day == 1 else _month_end(date_from) + timedelta(days=1)
    last = date_to if date_to is None or date_to == _month_end(date_to) else date_to.replace(day=1) - timedelta(days=1)
    if first is not None and last is not None and first > last:
        return whole
    days: list[tuple[date, date]] = []
    if date_from is not None and first is not None and first != date_from:
        days.append((date_from, first - timedelta(days=1)))
    if date_to is not None and last is not None and last != date_to:
        days.append((last + timedelta(days=1), date_to))
    return CalendarSplit(days=tuple(days), months=(first, last.replace(day=1) if last else None))


def _dated(queryset: models.QuerySet, field: str, start: date | None, end: date | None) -> models.QuerySet:
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lte": end})
    return queryset


def _keyed(queryset: models.QuerySet, *, filters: SalesFilters, model: type[models.Model]) -> models.QuerySet:
    by_store, item_side = _GRAIN[model]
    if by_store and filters.stores:
        queryset = queryset.filter(store_id__in=filters.stores)
    if by_store and filters.regions:
        queryset = queryset.filter(store_id__in=filters.region_stores)
    if item_side == "item":
        if filters.items:
            queryset = queryset.filter(item_id__in=filters.items)
        if filters.departments or filters.categories:
            queryset = queryset.filter(item_id__in=filters.level_items)
    if item_side == "department":
        if filters.departments:
            queryset = queryset.filter(department_id__in=filters.departments)
        if filters.categories:
            queryset = queryset.filter(department_id__in=filters.category_departments)
    return queryset


def _rollup_parts(*, filters: SalesFilters, group_by: str | None) -> list[tuple[models.QuerySet, str]]:
    """Querysets whose rows together hold the selection exactly once, each with the name of its
    date column: whole months from a monthly rollup where one exists, the rest from the daily
    table `rollup_for` picks. Each row has `sales` and `rows` (and its store_id / item_id)."""
    model = rollup_for(filters=filters, group_by=group_by)
    monthly = MONTHLY.get(model)
    if monthly is None:
        return [
            (
                _keyed(
                    _dated(model._default_manager.all(), "date", filters.date_from, filters.date_to),
                    filters=filters,
                    model=model,
                ),
                "date",
            )
        ]
    split = calendar_split(date_from=filters.date_from, date_to=filters.date_to)
    parts = [
        (_keyed(_dated(model._default_manager.all(), "date", *span), filters=filters, model=model), "date")
        for span in split.days
    ]
    if split.months is not None:
        parts.append(
            (
                _keyed(_dated(monthly._default_manager.all(), "month", *split.months), filters=filters, model=monthly),
                "month",
            )
        )
    return parts


@dataclass(frozen=True)
class HistoryKeys:
    """Every store, item and (store, item) pair with rows in the history, sorted."""

    stores: list[int]
    items: list[int]
    pairs: list[tuple[int, int]]


def history_keys() -> HistoryKeys:
    """The stores and items that have sales rows (from the daily rollups), and the store-item pairs (from the
    monthly store-item rollup)."""
    return HistoryKeys(
        stores=sorted(
            daily_totals(filters=SalesFilters(), group_by="store")
            .order_by()
            .values_list("store_id", flat=True)
            .distinct()
        ),
        items=sorted(
            daily_totals(filters=SalesFilters(), group_by="item")
            .order_by()
            .values_list("item_id", flat=True)
            .distinct()
        ),
        # From the monthly store-item rollup (60 rows a pair for five years), not a DISTINCT over every
        # sales row, which on tens of millions of rows was a long scan at the start of every refit.
        pairs=sorted(
            MonthlyStoreItemTotal.objects.filter(rows__gt=0).order_by().values_list("store_id", "item_id").distinct()
        ),
    )


def sales_by_key(*, filters: SalesFilters, by: GroupBy) -> dict[int, tuple[Units, int]]:
    """Units and sales_sale rows of each store (item, or node of a level: UNASSIGNED for those
    with none) with rows in the selection: {id: (units, rows)}. Reads at most a few dozen rollup rows per store or item whatever the
    length of the history (whole months from the monthly rollups)."""
    totals: dict[int, tuple[Units, int]] = {}
    for queryset, _ in _rollup_parts(filters=filters, group_by=by):
        rows = Count("id") if queryset.model is Sale else Sum("rows")
        grouped = (
            queryset.annotate(group=group_key(model=queryset.model, group_by=by))
            .values("group")
            .annotate(units=Sum("sales"), count=rows)
            .order_by()
            .values_list("group", "units", "count")
        )
        for ident, units, count in grouped:
            before = totals.get(ident, (0, 0))
            totals[ident] = (before[0] + units, before[1] + count)
    return {ident: (units_number(units), count) for ident, (units, count) in totals.items()}


def sale_count(*, filters: SalesFilters) -> int:
    """How many sales_sale rows the selection holds, from the rollups' row counts (an exact
    figure without counting the base table, unless stores and items are both filtered)."""
    by: GroupBy = "item" if filters.items and not filters.stores else "store"
    return sum(count for _, count in sales_by_key(filters=filters, by=by).values())


def daily_totals(*, filters: SalesFilters, group_by: str | None = None) -> models.QuerySet:
    """Rows with `date` and `sales` (and store_id / item_id where the table has
    them) whose sums over any set of days answer `filters`, split by `group_by`
    if given, from the smallest table that can. Sum them; never count them."""
    model = rollup_for(filters=filters, group_by=group_by)
    queryset = model._default_manager.all()
    return _keyed(_dated(queryset, "date", filters.date_from, filters.date_to), filters=filters, model=model)


# What one row of each rollup is the total of, besides its day.
_ROLLUP_KEY: dict[type[models.Model], str | None] = {
    DailyTotal: None,
    DailyStoreTotal: "store",
    DailyItemTotal: "item",
    DailyDepartmentTotal: "department",
}


@dataclass(frozen=True)
class AggregatedKey:
    """Where a page of `sales_aggregated` ends: its last row's period (and the group's id, UNASSIGNED for
    a level's unassigned group)."""

    period: date
    key: int | None = None


# A grouped row's internal id, for the next page's `after` key (the answer names the store or item by code).
AGGREGATED_KEY = "_key"


def sales_aggregated(
    *,
    filters: SalesFilters,
    granularity: Granularity = "day",
    group_by: GroupBy | None = None,
    after: AggregatedKey | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Total units per period (the day, the Monday of its ISO week, or the 1st of
    its month), optionally split by store or item.

    Returns [{"period": date, "sales": int}] or, grouped, [{"period": date,
    "store" | "item": code, "sales": int}], sorted by period then key: at most `limit` rows,
    those after `after` (keyset paging: a deep page costs what it returns).
    """
    rows = _aggregated_rows(filters=filters, granularity=granularity, group_by=group_by, after=after)
    if limit is not None:
        rows = rows[:limit]
    rows = list(rows)
    if group_by is not None:
        # Paged by internal id (the `after` key), answered by code.
        codes = codes_of(model=CATALOGUES[group_by], ids={row[1] for row in rows})
        return [
            {
                "period": period,
                group_by: _code(codes, key, group_by=group_by),
                "sales": units_number(units),
                AGGREGATED_KEY: key,
            }
            for period, key, units in rows
        ]
    return [_aggregated_dict(row, group_by=group_by) for row in rows]


def sales_aggregated_stream(
    *, filters: SalesFilters, granularity: Granularity = "day", group_by: GroupBy | None = None
) -> Iterator[tuple]:
    """Every row of `sales_aggregated` as a (period, [key,] units) tuple, read from PostgreSQL in
    batches (a server-side cursor), so that memory stays flat however many rows there are."""
    rows = _aggregated_rows(filters=filters, granularity=granularity, group_by=group_by, after=None)
    found = rows.iterator(chunk_size=5000) if isinstance(rows, models.QuerySet) else iter(rows)
    if group_by is None:
        return ((period, units_number(units)) for period, units in found)
    # One row per store (item, node): bounded by the catalogue.
    codes = dict(CATALOGUES[group_by].objects.values_list("id", "code"))
    return ((period, _code(codes, key, group_by=group_by), units_number(units)) for period, key, units in found)


def _aggregated_dict(row: tuple, *, group_by: GroupBy | None) -> dict[str, Any]:
    if group_by is None:
        return {"period": row[0], "sales": units_number(row[1])}
    return {"period": row[0], group_by: row[1], "sales": units_number(row[2])}


def _aggregated_rows(
    *, filters: SalesFilters, granularity: Granularity, group_by: GroupBy | None, after: AggregatedKey | None
) -> models.QuerySet | list[tuple]:
    """(period, [key,] units) rows in (period, key) order, after `after`: a lazy queryset, or a
    list where whole months are merged from two rollups."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    if group_by not in (None, *GROUP_BYS):
        raise ValueError(f"unknown group_by {group_by!r}")
    model = rollup_for(filters=filters, group_by=group_by)
    key = "group" if group_by else None
    keys = [key] if key else []
    if granularity == "month" and MONTHLY.get(model):
        rows = _monthly_totals(filters=filters, group_by=group_by)
        return [row for row in rows if after is None or tuple(row[: len(keys) + 1]) > _after_tuple(after, keys)]
    queryset = daily_totals(filters=filters, group_by=group_by)
    if group_by:
        queryset = queryset.annotate(group=group_key(model=model, group_by=group_by))
    if after is not None:
        # The plain bound lets PostgreSQL start its index scan at the page's first day.
        queryset = queryset.filter(date__gte=after.period)
    period: models.F | TruncWeek | TruncMonth
    if granularity == "day" and _ROLLUP_KEY.get(model, "") == group_by:
        # The rollup already holds one row per day (and key): read it as it is.
        period = models.F("date")
        rows = queryset.annotate(period=period).order_by("date", *keys).values_list("period", *keys, "sales")
    else:
        if granularity == "day":
            period = models.F("date")
        elif granularity == "week":
            period = TruncWeek("date", output_field=models.DateField())
        else:
            period = TruncMonth("date", output_field=models.DateField())
        rows = (
            queryset.annotate(period=period)
            .values("period", *keys)
            .annotate(total=Sum("sales"))
            .order_by("period", *keys)
            .values_list("period", *keys, "total")
        )
    if after is not None:
        later = Q(period__gt=after.period)
        if key:
            later |= Q(period=after.period, **{f"{key}__gt": after.key})
        rows = rows.filter(later)
    return rows


def _after_tuple(after: AggregatedKey, keys: list[str]) -> tuple:
    return (after.period, after.key) if keys else (after.period,)


# ---------------------------------------------------------------- breakdown

BreakdownOrder = Literal["desc", "asc"]
BREAKDOWN_ORDERS: tuple[str, ...] = ("desc", "asc")


@dataclass(frozen=True)
class BreakdownRow:
    id: str | None  # the store's (item's, node's) code; null for a level's unassigned group
    name: str
    sales: Units
    share: float | None


@dataclass(frozen=True)
class Breakdown:
    """One page of a ranking of stores, items or a level's nodes. `count` is how many stores (items,
    nodes, and the unassigned group when it sold) the selection holds, sold or not; `other` sums those not on this page, so that
    sum(rows.sales) + other.sales == total."""

    by: GroupBy
    order: BreakdownOrder
    total: Units
    count: int
    rows: list[BreakdownRow]
    other_count: int
    other_sales: Units


def sales_breakdown(
    *, filters: SalesFilters, by: GroupBy, top: int = 10, order: BreakdownOrder = "desc", offset: int = 0
) -> Breakdown:
    """Stores (items, regions, categories, departments) ranked by units sold in the selection: best
    first ("desc") or worst first ("asc"), ties by id; `top` rows from position `offset`. Every store
    (item, node) the filters allow counts, with 0 when it sold nothing; grouped by a level, the units
    of stores (items) outside the hierarchy form an "Unassigned" row with a null code.

    Read from the per-store or per-item rollups (whole months from the monthly ones) unless
    the other key is filtered too; at most a few rows per store (item) come back from
    PostgreSQL, so the answer stays small whatever the size of the history."""
    if by not in GROUP_BYS:
        raise ValueError(f"unknown breakdown {by!r}")
    if order not in BREAKDOWN_ORDERS:
        raise ValueError(f"unknown order {order!r}")
    sold = {key: units for key, (units, _) in sales_by_key(filters=filters, by=by).items()}
    known = _breakdown_catalogue(filters=filters, by=by)
    catalogue: dict[int, tuple[str | None, str]] = {
        key: (code, name) for key, code, name in known.values_list("id", "code", "name")
    }
    if by in LEVELS and UNASSIGNED in sold:
        catalogue[UNASSIGNED] = (None, UNASSIGNED_NAME)
    names = {key: name for key, (_, name) in catalogue.items()}
    ranked = sorted(names, key=lambda key: (-sold.get(key, 0) if order == "desc" else sold.get(key, 0), key))
    total = sum(sold.get(key, 0) for key in names)
    page = ranked[offset : offset + top]
    rows = [
        BreakdownRow(
            id=catalogue[key][0],
            name=names[key],
            sales=sold.get(key, 0),
            share=round(float(sold.get(key, 0)) / float(total), 6) if total else None,
        )
        for key in page
    ]
    shown = sum(row.sales for row in rows)
    return Breakdown(
        by=by,
        order=order,
        total=total,
        count=len(names),
        rows=rows,
        other_count=len(names) - len(rows),
        other_sales=total - shown,
    )


UNASSIGNED_NAME = "Unassigned"


def _breakdown_catalogue(*, filters: SalesFilters, by: GroupBy) -> models.QuerySet:
    """The stores (items, nodes) a ranking by `by` counts, sold or not: those that the filters on their
    own level, the levels above it and the level just below it allow."""
    known = CATALOGUES[by].objects.order_by()
    limits: dict[str, tuple[int, ...]] = {
        "store": {"id__in": filters.stores, "region_id__in": filters.regions},
        "item": {
            "id__in": filters.items,
            "department_id__in": filters.departments,
            "department__category_id__in": filters.categories,
        },
        "region": {"id__in": filters.regions},
        "department": {"id__in": filters.departments, "category_id__in": filters.categories},
        "category": {"id__in": filters.categories},
    }[by]
    for lookup, ids in limits.items():
        if ids:
            known = known.filter(**{lookup: ids})
    # The nodes of the stores, items or departments selected (Texas when two of its stores are).
    below: dict[str, tuple[tuple[int, ...], Catalogue, str]] = {
        "region": (filters.stores, Store, "region_id"),
        "department": (filters.items, Item, "department_id"),
        "category": (filters.departments, Department, "category_id"),
    }
    if by in below and below[by][0]:
        ids, model, column = below[by]
        known = known.filter(id__in=model.objects.filter(id__in=ids).values(column))
    if by == "category" and filters.items:
        known = known.filter(id__in=Item.objects.filter(id__in=filters.items).values("department__category_id"))
    return known


def _monthly_totals(*, filters: SalesFilters, group_by: GroupBy | None) -> list[tuple]:
    """(month, [key,] units) rows sorted like sales_aggregated's, from the monthly rollup for the
    whole months and the daily one for the days at either end."""
    key = ["group"] if group_by else []
    totals: dict[tuple, Units] = defaultdict(int)
    for queryset, field in _rollup_parts(filters=filters, group_by=group_by):
        period = models.F("month") if field == "month" else TruncMonth("date", output_field=models.DateField())
        if group_by:
            queryset = queryset.annotate(group=group_key(model=queryset.model, group_by=group_by))
        grouped = queryset.annotate(period=period).values("period", *key).annotate(units=Sum("sales")).order_by()
        for row in grouped.values_list("period", *key, "units"):
            totals[row[:-1]] += row[-1]
    return [(*group, units_number(units)) for group, units in sorted(totals.items())]


# ---------------------------------------------------------------- metrics


def _growth_pct(current: Units, previous: Units) -> float | None:
    if not previous:
        return None
    # Against the size of the earlier window: a fall from net returns (negative) reads as a fall too.
    return round(float(current - previous) / abs(float(previous)) * 100, 1)


def _window(current: Units | None, previous: Units | None, *, days: int, compared: bool = True) -> dict[str, Any]:
    """A KPI window of `days` days. Not `compared` (the window before reaches back past the first day with
    data): previous and growth are null, since a partly empty window would make growth look huge."""
    current = units_number(current or 0)
    previous = units_number(previous)
    if not compared:
        return {"sales": current, "previous": None, "growth_pct": None, "days": days}
    previous = previous or 0
    return {"sales": current, "previous": previous, "growth_pct": _growth_pct(current, previous), "days": days}


def _ranked(
    *, totals: dict[int, tuple[Units, int]], by: GroupBy, model: type[Store] | type[Item], top: int
) -> list[dict[str, Any]]:
    """The `top` stores (or items) of `totals` (from sales_by_key), best first (ties by id), by code."""
    ranked = sorted(totals.items(), key=lambda entry: (-entry[1][0], entry[0]))[:top]
    found = model.objects.filter(id__in=[key for key, _ in ranked]).values_list("id", "code", "name")
    catalogue = {key: (code, name) for key, code, name in found}
    return [
        {by: catalogue.get(key, (str(key), ""))[0], "name": catalogue.get(key, ("", ""))[1], "sales": units}
        for key, (units, _) in ranked
    ]


TODAY_FORECAST_KEYS = ("forecast", "lower_80", "upper_80", "lower_95", "upper_95")
# Forecasts belong to an app built on sales: it registers its reader here (in its AppConfig.ready),
# so that sales never imports it. Called as provider(store_ids=, item_ids=, day=) -> dict with TODAY_FORECAST_KEYS.
TODAY_FORECAST: Registry[Callable[..., dict[str, Any]]] = Registry("forecast of today")


def sales_today_forecast(*, filters: SalesFilters, day: date) -> dict[str, float | None]:
    """Forecast of `day`'s total for this selection, with 80 % and 95 % bounds (all
    None before the first complete forecast run, outside its horizon, or with no
    forecast provider registered, or for a selection by region, category or department: the
    forecasts are of stores and items, and the sum of a level's would have no honest bounds).

    The one place the metrics read forecasts from."""
    provider = TODAY_FORECAST.one()
    if provider is None or filters.by_level:
        return dict.fromkeys(TODAY_FORECAST_KEYS)
    forecast = provider(store_ids=list(filters.stores) or None, item_ids=list(filters.items) or None, day=day)
    return {key: forecast[key] for key in TODAY_FORECAST_KEYS}


def sales_metrics(*, filters: SalesFilters, today: date | None = None) -> dict[str, Any]:
    """KPIs for the selection, read from the rollups.

    date_from/date_to are the first and last day WITH DATA after the filters;
    `days` counts calendar days between them (inclusive) and `average_per_day`
    is total / days. The 7-, 30- and 365-day windows end at that last day, or
    yesterday when that is today (only complete days are compared), and are
    compared with the same number of days just before, read from the history
    whatever date_from says; when that earlier window reaches back past the first
    day with data, it is not compared (previous and growth null). "today" is
    `timezone.localdate()` (TIME_ZONE), its actual taken with the store/item
    filters but regardless of the date filters.

    `frequency` is the whole history's (`history_frequency`). For a weekly one, `weeks` counts the weeks
    from date_from to date_to (inclusive), `average_per_week` is total / weeks, `best_day` is the best
    week (dated on its last day) and the windows are whole weeks: 7, 28 and 364 days (4 and 52 weeks),
    so that each window and the one before hold as many weeks. Each window says its `days`.
    """
    today = today or timezone.localdate()
    frequency = history_frequency()
    daily = daily_totals(filters=filters)
    span = daily.aggregate(first=Min("date"), last=Max("date"), total=Sum("sales"))
    first, last, total = span["first"], span["last"], units_number(span["total"])
    today_block = _metrics_today(filters=filters, today=today)
    if first is None:
        return _metrics_empty(today_block=today_block, frequency=frequency, filters=filters)
    spans = WEEKLY_WINDOWS if frequency == WEEKLY else DAILY_WINDOWS
    windows_end, windows = _metrics_windows(filters=filters, last=last, today=today, spans=spans)
    best = daily.values("date").annotate(total=Sum("sales")).order_by("-total", "date").values_list("date", "total")
    best_date, best_units = best.first()
    stores, items, rows, counts, units = _metrics_rankings(filters=filters)
    days = (last - first).days + 1
    weeks = (last - first).days // 7 + 1 if frequency == WEEKLY else None
    return {
        "frequency": frequency,
        **_metrics_unit(units),
        "date_from": first,
        "date_to": last,
        "days": days,
        "weeks": weeks,
        "total_sales": total,
        "average_per_day": round(float(total) / days, 1),
        "average_per_week": round(float(total) / weeks, 1) if weeks else None,
        "windows_end": windows_end,
        "last_7_days": windows[spans[0]],
        "last_30_days": windows[spans[1]],
        "year_over_year": windows[spans[2]],
        "best_day": {"date": best_date, "sales": units_number(best_units)},
        "top_stores": stores,
        "top_items": items,
        "counts": {"stores": counts[0], "items": counts[1], "rows": rows},
        "today": today_block,
    }


def _metrics_today(*, filters: SalesFilters, today: date) -> dict[str, Any]:
    """Today's units with the store/item filters (whatever the dates), and its forecast."""
    undated = dataclasses.replace(filters, date_from=None, date_to=None)
    actual = daily_totals(filters=undated).filter(date=today).aggregate(total=Sum("sales"))["total"]
    return {"date": today, "actual": units_number(actual or 0), **sales_today_forecast(filters=filters, day=today)}


def selection_unit(*, filters: SalesFilters, sold_items: Iterable[int] | None = None) -> dict[str, Any]:
    """What an answer says of its units (`units_of_selection`): `unit`, the selection's unit, None when its
    items' units differ; `units`, every one of them."""
    return _metrics_unit(units_of_selection(filters=filters, sold_items=sold_items))


def _metrics_unit(units: list[str]) -> dict[str, Any]:
    """`unit`: the selection's unit, None when its items' units differ; `units`: every one of them."""
    return {"unit": units[0] if len(units) == 1 else None, "units": units}


def _metrics_empty(*, today_block: dict[str, Any], frequency: str, filters: SalesFilters) -> dict[str, Any]:
    spans = WEEKLY_WINDOWS if frequency == WEEKLY else DAILY_WINDOWS
    return {
        **_metrics_unit(units_of_selection(filters=filters)),
        "frequency": frequency,
        "date_from": None,
        "date_to": None,
        "days": 0,
        "weeks": 0 if frequency == WEEKLY else None,
        "total_sales": 0,
        "average_per_day": None,
        "average_per_week": None,
        "windows_end": None,
        "last_7_days": _window(0, None, days=spans[0], compared=False),
        "last_30_days": _window(0, None, days=spans[1], compared=False),
        "year_over_year": _window(0, None, days=spans[2], compared=False),
        "best_day": None,
        "top_stores": [],
        "top_items": [],
        "counts": {"stores": 0, "items": 0, "rows": 0},
        "today": today_block,
    }


# The KPI windows' lengths in days (last 7 days, last 30 days, year over year); a weekly history's are
# whole weeks, or a 30-day window would hold 4 or 5 weekly rows depending on the weekday it ends on.
DAILY_WINDOWS = (7, 30, 365)
WEEKLY_WINDOWS = (7, 28, 364)


def _metrics_windows(
    *, filters: SalesFilters, last: date, today: date, spans: tuple[int, int, int] = DAILY_WINDOWS
) -> tuple[date | None, dict[int, dict]]:
    """The windows' last day (None when there is no complete day) and the windows of `spans` days."""
    # The windows compare complete days: today fills up while live sales stream in, and a partial
    # day would make every window read as a fall early in the day ("today" has its own block).
    windows_end = min(last, today - timedelta(days=1))

    def days_back(days: int) -> date:
        return windows_end - timedelta(days=min(days, (windows_end - date.min).days))

    def between(start_days_back: int, end_days_back: int) -> Sum:
        """Units of the days after `start_days_back` days before the windows' end, up to
        and including `end_days_back` days before it."""
        return Sum("sales", filter=Q(date__gt=days_back(start_days_back), date__lte=days_back(end_days_back)))

    # "The 30 days before" a date range usually lie outside it: the windows read the history up
    # to their end with the store/item filters only.
    history = daily_totals(filters=dataclasses.replace(filters, date_from=None, date_to=windows_end))
    sums = history.aggregate(
        first=Min("date"),
        **{f"w{days}": between(days, 0) for days in spans},
        **{f"p{days}": between(2 * days, days) for days in spans},
    )

    def window(days: int) -> dict[str, Any]:
        # The earlier window is (end - 2 x days, end - days]: compared only when data covers all of it.
        compared = sums["first"] is not None and days_back(2 * days) >= sums["first"] - timedelta(days=1)
        return _window(sums[f"w{days}"], sums[f"p{days}"], days=days, compared=compared)

    return (windows_end if sums["first"] is not None else None), {days: window(days) for days in spans}


def units_of_selection(*, filters: SalesFilters, sold_items: Iterable[int] | None = None) -> list[str]:
    """The names of the units the selection's figures are in, sorted (one name: its unit; several: its totals
    mix units). The items filtered on (by code, department or category), else the whole catalogue; when that
    mixes units and `sold_items` (the items with sales in the selection) is given, only those. Blank is the
    default (Item.unit_name)."""
    items = Item.objects.order_by()
    if filters.items:
        items = items.filter(id__in=filters.items)
    if filters.departments:
        items = items.filter(department_id__in=filters.departments)
    if filters.categories:
        items = items.filter(department__category_id__in=filters.categories)
    found = set(items.values_list("unit", flat=True).distinct())
    if len(found) > 1 and not filters.items and sold_items is not None:
        found = set(items.filter(id__in=list(sold_items)).values_list("unit", flat=True).distinct())
    return sorted({unit or settings.SALES_DEFAULT_UNIT for unit in found} or {settings.SALES_DEFAULT_UNIT})


TOP_RANKED = 5


def _metrics_rankings(*, filters: SalesFilters) -> tuple[list[dict], list[dict], int, tuple[int, int], list[str]]:
    """The top stores and items with sales in the selection, best first, its sales_sale row count,
    how many stores and items have sales in it, and the units its figures are in."""
    by_store, by_item = sales_by_key(filters=filters, by="store"), sales_by_key(filters=filters, by="item")
    stores = _ranked(totals=by_store, by="store", model=Store, top=TOP_RANKED)
    items = _ranked(totals=by_item, by="item", model=Item, top=TOP_RANKED)
    # Counted from whichever of the two read a rollup (the same figure either way).
    rows = sum(count for _, count in (by_item if filters.items and not filters.stores else by_store).values())
    units = units_of_selection(filters=filters, sold_items=by_item.keys())
    return stores, items, rows, (len(by_store), len(by_item)), units
