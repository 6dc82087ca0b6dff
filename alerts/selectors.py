"""Reads of the alerts: the figures a rule is judged on (today's sales so far against the paced forecast),
the intraday pace, and the rules, states, history and notifications the API and the page show.

Series keys are (store, item) with -1 where the level has none (the total has (-1, -1)).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, Max, Min, OuterRef, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import AlertState, ContactPoint, Level, Rule, Silence, State, StateChange, StoreHours
from forecasting.models import ForecastPoint
from forecasting.selectors import forecast_run_latest
from sales.models import (
    Category,
    DailyItemTotal,
    DailyStoreTotal,
    DailyTotal,
    Department,
    Item,
    MonthlyStoreItemTotal,
    Region,
    Sale,
    Store,
)
from sales.selectors import NO_ID, codes_resolve_each
from streaming.models import SalesEvent

NONE = -1


def event_codes_to_ids(frame: pd.DataFrame, *, columns: tuple[str, ...] = ("store", "item")) -> pd.DataFrame:
    """The event log names stores and items by code (its rows and breakdowns); the alerts work on ids. Each
    code becomes its store's (item's) id, a code the catalogue lacks NO_ID (it matches no rule's scope), and
    NONE ("any") stays as it is."""
    models: dict[str, type[Store] | type[Item]] = {"store": Store, "item": Item}
    for column in columns:
        values = frame[column]
        codes = {value for value in values if isinstance(value, str)}
        if not codes:
            continue
        known = codes_resolve_each(model=models[column], codes=codes)
        frame[column] = [known.get(value, NO_ID) if isinstance(value, str) else value for value in values]
    return frame


def batches_counted():
    """The recorded batches the alerts judge, learn and replay from: every one while the live generator is
    on; only reported (ingested) ones while it is off (settings.LIVE_GENERATOR), so that generated sales
    from before the switch never hide a store that has gone quiet."""
    events = SalesEvent.objects.all()
    if not settings.LIVE_GENERATOR:
        events = events.exclude(source=SalesEvent.Source.GENERATOR)
    return events


# The pace curve's resolution: cumulative shares at every quarter hour (97 points, 00:00 .. 24:00).
STEP_MINUTES = 15
GRID = np.arange(0, 24 * 60 + 1, STEP_MINUTES, dtype=float)
# Days of recorded batches a learnt curve looks back over.
PACE_LOOKBACK_DAYS = 28

CURVE_LEARNT = "learnt from recorded batches"
CURVE_HOURS = "opening hours"


# ---------------------------------------------------------------- the intraday pace


@dataclass(frozen=True)
class PaceCurve:
    """The share of a day's sales usually made by each time of day: `cumulative` on GRID, 0 at
    00:00 and 1 at 24:00. `kind`: CURVE_LEARNT or CURVE_HOURS; `days`: the days it was learnt from."""

    kind: str
    cumulative: np.ndarray
    days: int = 0

    def share(self, minutes: float) -> float:
        return float(np.interp(minutes, GRID, self.cumulative))


@dataclass(frozen=True)
class PaceCurves:
    """The curve of every store (by id) and of all stores together (for the total and items)."""

    total: PaceCurve
    stores: dict[int, PaceCurve]

    def of(self, store: int) -> PaceCurve:
        return self.stores.get(store, self.total)


def hours_curve(*, opens: int, closes: int) -> PaceCurve:
    """Flat within the opening hours (minutes after midnight), nothing outside them."""
    return PaceCurve(kind=CURVE_HOURS, cumulative=np.clip((GRID - opens) / (closes - opens), 0.0, 1.0))


def opening_hours() -> dict[int, tuple[int, int]]:
    """Each store's opening hours in minutes after midnight (ALERTS_OPENING_HOURS where none is set)."""
    default = settings.ALERTS_OPENING_HOURS
    hours = dict.fromkeys(Store.objects.values_list("id", flat=True), default)
    for row in StoreHours.objects.all():
        closes = row.closes.hour * 60 + row.closes.minute or 24 * 60
        hours[row.store_id] = (row.opens.hour * 60 + row.opens.minute, closes)
    return hours


_PACE_CACHE: OrderedDict[date, PaceCurves] = OrderedDict()


def pace_curves(*, day: date) -> PaceCurves:
    """The curves for `day`: learnt per store from the batches recorded in the 28 days before it once
    a store has ALERTS_PACE_MIN_DAYS whole days of them, else its opening hours. Kept per process
    for the day (the batches of earlier days do not change)."""
    if day in _PACE_CACHE:
        return _PACE_CACHE[day]
    hours = opening_hours()
    learnt = _curves_learnt(day=day)
    stores = {store: learnt.get(store) or hours_curve(opens=o, closes=c) for store, (o, c) in hours.items()}
    total = learnt.get(NONE) or hours_curve(
        opens=settings.ALERTS_OPENING_HOURS[0], closes=settings.ALERTS_OPENING_HOURS[1]
    )
    curves = PaceCurves(total=total, stores=stores)
    _PACE_CACHE[day] = curves
    while len(_PACE_CACHE) > 3:
        _PACE_CACHE.popitem(last=False)
    return curves


def _curves_learnt(*, day: date) -> dict[int, PaceCurve]:
    """Learnt curves by store id (NONE: all stores together) for those with enough whole days."""
    start = timezone.make_aware(datetime.combine(day - timedelta(days=PACE_LOOKBACK_DAYS), time.min))
    end = timezone.make_aware(datetime.combine(day, time.min))
    # Catch-up batches lump many intervals together: they say nothing of when in the day sales happen.
    events = (
        batches_counted()
        .filter(timestamp__gte=start, timestamp__lt=end, total__gt=0)
        .exclude(kind=SalesEvent.Kind.CATCH_UP)
        .annotate(moment=Coalesce("interval_start", "timestamp"))
        .values_list("moment", "row_breakdown__stores")
    )
    rows = [
        (moment, store, units) for moment, stores in events.iterator(chunk_size=5000) for store, units in stores or ()
    ]
    if not rows:
        return {}
    frame = event_codes_to_ids(pd.DataFrame(rows, columns=["moment", "store", "units"]), columns=("store",))
    local = frame["moment"].dt.tz_convert(timezone.get_current_timezone())
    frame["date"] = local.dt.date
    frame["bin"] = (local.dt.hour * 60 + local.dt.minute) // STEP_MINUTES
    together = frame.assign(store=NONE)
    curves = {}
    for store, part in pd.concat([frame, together]).groupby("store"):
        curve = _curve_from(part)
        if curve is not None:
            curves[int(store)] = curve
    return curves


def _curve_from(part: pd.DataFrame) -> PaceCurve | None:
    """The mean of each whole day's cumulative shares, or None with fewer whole days than needed.
    A day is whole when it has batches in at least three quarters of the quarter hours it sold in
    on its busiest day (a day the feed broke off halfway would bend the curve)."""
    per_day = part.pivot_table(index="date", columns="bin", values="units", aggfunc="sum", fill_value=0)
    per_day = per_day.reindex(columns=range(len(GRID) - 1), fill_value=0)
    bins_sold = (per_day > 0).sum(axis=1)
    whole = per_day[bins_sold >= 0.75 * bins_sold.max()]
    if len(whole) < settings.ALERTS_PACE_MIN_DAYS:
        return None
    shares = whole.to_numpy(dtype=float) / whole.to_numpy(dtype=float).sum(axis=1, keepdims=True)
    cumulative = np.concatenate([[0.0], np.cumsum(shares.mean(axis=0))])
    cumulative /= cumulative[-1]
    return PaceCurve(kind=CURVE_LEARNT, cumulative=cumulative, days=len(whole))


def intraday_share(*, start: datetime, end: datetime, store_ids: np.ndarray) -> np.ndarray:
    """The share of a day's sales each store (aligned on `store_ids`) usually makes in [start, end) of
    start's day: the same curves the rules are paced by, registered as the live generator's shape."""
    day = timezone.localdate(start)
    curves = pace_curves(day=day)
    midnight = timezone.make_aware(datetime.combine(day, time.min))
    first = (start - midnight).total_seconds() / 60
    last = min((end - midnight).total_seconds() / 60, 24 * 60)
    shares = {int(s): curves.of(int(s)).share(last) - curves.of(int(s)).share(first) for s in np.unique(store_ids)}
    return np.array([shares[int(s)] for s in store_ids], dtype=float)


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Scope:
    """What a rule watches: its level, and its store, item or node (region, category or department by
    the level; None: every one)."""

    level: str
    store: int | None
    item: int | None
    node: int | None = None

    @classmethod
    def of(cls, rule: Rule) -> Scope:
        return cls(level=rule.level, store=rule.store_id, item=rule.item_id, node=rule.node_id)

    @property
    def children(self) -> str:
        """A node level's children: stores for a region, items for a category or a department."""
        return Level.STORE if self.level == Level.REGION else Level.ITEM


# ---------------------------------------------------------------- nodes of the hierarchy


def node_of_children(*, level: str) -> dict[int, int]:
    """{child id: node id} for a node level: each store's region, each item's department, or its
    department's category. Stores and items outside the hierarchy are left out (they count in no node)."""
    if level == Level.REGION:
        return dict(Store.objects.filter(region__isnull=False).values_list("id", "region_id"))
    if level == Level.DEPARTMENT:
        return dict(Item.objects.filter(department__isnull=False).values_list("id", "department_id"))
    return dict(Item.objects.filter(department__category__isnull=False).values_list("id", "department__category_id"))


NODE_MODELS: dict[str, type[Region] | type[Category] | type[Department]] = {
    Level.REGION.value: Region,
    Level.CATEGORY.value: Category,
    Level.DEPARTMENT.value: Department,
}


def nodes_of(*, scope: Scope) -> list[int]:
    """The nodes a node-level scope watches: its node, or every node of its level."""
    if scope.node is not None:
        return [scope.node]
    return list(NODE_MODELS[scope.level].objects.values_list("id", flat=True))


def node_codes(*, level: str, ids) -> dict[int, str]:
    ids = set(ids)
    return dict(NODE_MODELS[level].objects.filter(id__in=ids).values_list("id", "code")) if ids else {}


def children_to_nodes(frame: pd.DataFrame, *, scope: Scope) -> pd.DataFrame:
    """Children's rows (store or item columns) with `node` set to their node's id, those outside the
    hierarchy (or outside the scope's node) dropped; store and item become NONE."""
    key = "store" if scope.children == Level.STORE else "item"
    frame = frame.assign(node=frame[key].map(node_of_children(level=scope.level)))
    frame = frame.dropna(subset=["node"]).astype({"node": "int64"})
    if scope.node is not None:
        frame = frame[frame["node"] == scope.node]
    return frame.assign(store=NONE, item=NONE)


def actuals_today(*, scope: Scope, day: date) -> pd.DataFrame:
    """Units sold so far on `day` per series of the scope: columns store, item, actual (only series with rows;
    float: the history's exact decimals, judged against float forecasts)."""
    if scope.level == Level.TOTAL:
        rows = [(NONE, NONE, t) for t in DailyTotal.objects.filter(date=day).values_list("sales", flat=True)]
    elif scope.level == Level.STORE:
        query = DailyStoreTotal.objects.filter(date=day)
        query = query.filter(store_id=scope.store) if scope.store is not None else query
        rows = [(s, NONE, t) for s, t in query.values_list("store_id", "sales")]
    elif scope.level == Level.ITEM:
        by_item = DailyItemTotal.objects.filter(date=day)
        by_item = by_item.filter(item_id=scope.item) if scope.item is not None else by_item
        rows = [(NONE, i, t) for i, t in by_item.values_list("item_id", "sales")]
    else:
        # Led by item, as the base table's index is: one probe per item rather than a scan of every day.
        items = [scope.item] if scope.item is not None else list(Item.objects.values_list("id", flat=True))
        by_pair = Sale.objects.filter(date=day, item_id__in=items)
        by_pair = by_pair.filter(store_id=scope.store) if scope.store is not None else by_pair
        rows = list(by_pair.values_list("store_id", "item_id", "sales"))
    frame = pd.DataFrame(rows, columns=["store", "item", "actual"])
    return frame.astype({"store": "int64", "item": "int64", "actual": "float64"})


_FORECAST_CACHE: OrderedDict[tuple, pd.DataFrame] = OrderedDict()


def forecast_of_day(*, level: str, day: date) -> pd.DataFrame:
    """The latest complete run's forecast of `day` for every series of `level`: columns store, item,
    expected (the mean: it adds up across series), lower_80, upper_80, lower_95, upper_95. Empty
    without a run or past its horizon. Kept per process per run and day (a run never changes)."""
    columns = ["store", "item", "expected", "lower_80", "upper_80", "lower_95", "upper_95"]
    run = forecast_run_latest()
    if run is None:
        return pd.DataFrame(columns=columns)
    cache_key = (run.pk, level, day)
    if cache_key in _FORECAST_CACHE:
        return _FORECAST_CACHE[cache_key]
    rows = ForecastPoint.objects.filter(series__run=run, series__level=level, date=day).values_list(
        Coalesce("series__store_id", NONE),
        Coalesce("series__item_id", NONE),
        Coalesce("mean", "yhat"),
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    )
    frame = pd.DataFrame(list(rows), columns=columns).astype({"store": "int64", "item": "int64"})
    _FORECAST_CACHE[cache_key] = frame
    while len(_FORECAST_CACHE) > 16:
        _FORECAST_CACHE.popitem(last=False)
    return frame


def scope_filter(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    if scope.store is not None:
        frame = frame[frame["store"] == scope.store]
    if scope.item is not None:
        frame = frame[frame["item"] == scope.item]
    return frame


def series_universe(*, scope: Scope) -> pd.DataFrame:
    """Every series a per-series rule knows of besides those with sales today: stores or items from
    their tables; store-items from today's forecast (a store-item without one is judged when it sells)."""
    if scope.level == Level.TOTAL:
        return pd.DataFrame({"store": [NONE], "item": [NONE]})
    if scope.level == Level.STORE:
        ids = [scope.store] if scope.store is not None else list(Store.objects.values_list("id", flat=True))
        return pd.DataFrame({"store": ids, "item": NONE}, dtype="int64")
    if scope.level == Level.ITEM:
        ids = [scope.item] if scope.item is not None else list(Item.objects.values_list("id", flat=True))
        return pd.DataFrame({"item": ids, "store": NONE}, dtype="int64")[["store", "item"]]
    if scope.store is not None and scope.item is not None:
        return pd.DataFrame({"store": [scope.store], "item": [scope.item]}, dtype="int64")
    return pd.DataFrame(columns=["store", "item"], dtype="int64")


def series_universe_no_data(*, scope: Scope) -> pd.DataFrame:
    """Every series a no-data rule watches, whether it sent anything or not: as series_universe, and every
    store-item of the history (of the scope's store or item) for a rule over store-items."""
    if scope.level != Level.STORE_ITEM or (scope.store is not None and scope.item is not None):
        return series_universe(scope=scope)
    return scope_filter(history_store_items(), scope)


# A full re-read of the history's store-items at least this often (seconds): between two, rows added to the
# monthly store-item rollup are read incrementally (by id).
HISTORY_PAIRS_FULL_SECONDS = 3600


@dataclass
class _HistoryPairs:
    table: int
    low: int
    high: int
    read_at: float
    pairs: pd.DataFrame


_HISTORY_PAIRS: list[_HistoryPairs] = []


def history_store_items() -> pd.DataFrame:
    """Every store-item of the history (columns store, item): the pairs with rows in the monthly store-item
    rollup (some 60 rows a pair for five years; a DISTINCT over all of them is a long read at about 30,000
    pairs). Kept per process: a call reads only the rollup's rows added since the last (a new pair, a new
    month), and the whole rollup again after a rebuild (its first id moved or its last went back) or
    HISTORY_PAIRS_FULL_SECONDS."""
    ids = MonthlyStoreItemTotal.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = ids["low"] or 0, ids["high"] or 0
    table = _table_oid(MonthlyStoreItemTotal._meta.db_table)
    rows = MonthlyStoreItemTotal.objects.filter(rows__gt=0).order_by().values_list("store_id", "item_id").distinct()
    cached = _HISTORY_PAIRS[0] if _HISTORY_PAIRS else None
    now = time_monotonic()
    if (
        cached is None
        or (cached.table, cached.low) != (table, low)
        or high < cached.high
        or now - cached.read_at > HISTORY_PAIRS_FULL_SECONDS
    ):
        pairs = pd.DataFrame(list(rows), columns=["store", "item"], dtype="int64")
        _HISTORY_PAIRS[:] = [_HistoryPairs(table=table, low=low, high=high, read_at=now, pairs=pairs)]
        return pairs
    if high > cached.high:
        added = pd.DataFrame(list(rows.filter(id__gt=cached.high)), columns=["store", "item"], dtype="int64")
        cached.pairs = pd.concat([cached.pairs, added]).drop_duplicates(ignore_index=True)
        cached.high = high
    return cached.pairs


def _table_oid(table: str) -> int:
    """The table's identity in PostgreSQL: a full load swaps a new rollup table in (sales.swap), whose ids
    start again at 1, so its first and last ids alone could match the old table's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [table])
        return int(cursor.fetchone()[0])


def series_seen(*, scope: Scope, start: datetime, end: datetime) -> pd.DataFrame:
    """Units per series of the scope in the batches recorded with start < timestamp <= end: columns store, item, actual."""
    events = batches_counted().filter(timestamp__gt=start, timestamp__lte=end, total__gt=0)
    if scope.level == Level.TOTAL:
        units = float(sum(events.values_list("total", flat=True)))
        return pd.DataFrame({"store": [NONE], "item": [NONE], "actual": [units]})
    if scope.level in (Level.STORE, Level.ITEM):
        key = "stores" if scope.level == Level.STORE else "items"
        pairs = [pair for part in events.values_list(f"row_breakdown__{key}", flat=True) for pair in part or ()]
        frame = pd.DataFrame(pairs, columns=["id", "actual"]).groupby("id", as_index=False)["actual"].sum()
        frame = event_codes_to_ids(frame.rename(columns={"id": key[:-1]}), columns=(key[:-1],))
        frame = frame.rename(columns={key[:-1]: "id"})
        other = NONE
        frame = frame.assign(
            store=frame["id"] if key == "stores" else other, item=frame["id"] if key == "items" else other
        )
    else:
        rows = [row for part in events.values_list("rows", flat=True) for row in part]
        frame = event_codes_to_ids(pd.DataFrame(rows, columns=["store", "item", "actual"]))
        frame = frame.groupby(["store", "item"], as_index=False).sum()
    return scope_filter(frame[["store", "item", "actual"]].astype({"store": "int64", "item": "int64"}), scope)


# ---------------------------------------------------------------- reads for the API and the page


def rule_list() -> list[Rule]:
    return list(
        Rule.objects.select_related("store", "item", "region", "category", "department").prefetch_related(
            "contact_points"
        )
    )


def contact_point_list():
    return ContactPoint.objects.all()


def change_list():
    return series_codes_annotate(StateChange.objects.select_related("rule"))


def silence_list(*, active_at: datetime | None = None):
    silences = Silence.objects.select_related("rule")
    if active_at is not None:
        silences = silences.filter(starts_at__lte=active_at, ends_at__gt=active_at)
    return silences


def silences_active(*, now: datetime) -> list[Silence]:
    return list(silence_list(active_at=now))


def series_codes_annotate(query):
    """Each row's store, item and node codes (`store_code`, `item_code`, `node_code`: the region, category or
    department by the rule's level; None where the series has none): the state and history rows keep internal
    ids, and every answer speaks codes."""
    node = Case(
        *(
            When(rule__level=level, then=Subquery(model.objects.filter(pk=OuterRef("node_id")).values("code")[:1]))
            for level, model in NODE_MODELS.items()
        ),
        default=None,
        output_field=CharField(),
    )
    return query.annotate(
        store_code=Subquery(Store.objects.filter(pk=OuterRef("store_id")).values("code")[:1]),
        item_code=Subquery(Item.objects.filter(pk=OuterRef("item_id")).values("code")[:1]),
        node_code=node,
    )


def state_list(*, firing: bool = False):
    states = AlertState.objects.select_related("rule", "last_change__rule").order_by("rule_id", "store_id", "item_id")
    states = series_codes_annotate(states)
    if firing:
        states = states.filter(state__in=[State.ALERTING, State.NO_DATA, State.ERROR])
    return states


def silence_of(*, silences: list[Silence], rule_id: int, store: int | None, item: int | None) -> Silence | None:
    """The first silence that mutes this series of this rule, if any."""
    for silence in silences:
        if silence.rule_id not in (None, rule_id):
            continue
        if silence.store_id is not None and silence.store_id != store:
            continue
        if silence.item_id is not None and silence.item_id != item:
            continue
        return silence
    return None


def firing_count() -> int:
    return AlertState.objects.filter(state__in=[State.ALERTING, State.NO_DATA, State.ERROR]).count()


def contact_points_failing() -> list[ContactPoint]:
    return list(ContactPoint.objects.filter(failures__gte=settings.ALERTS_FAILING_AFTER))


def alerts_health() -> dict:
    """{"status": "ok", "firing": n, "failing_contact_points": [names]}. Always "ok": a contact point that
    keeps failing is reported here (and on the page) but must not take the web service out of a load balancer."""
    failing = [point.name for point in contact_points_failing()]
    return {"status": "ok", "firing": firing_count(), "failing_contact_points": failing}
