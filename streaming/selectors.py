"""Reads of the live stream: profiles, the event log, stream KPIs and health."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Max, Q, Sum, Value
from django.utils import timezone

from core.numbers import number_plain
from sales.models import Item, Store
from sales.selectors import NO_ID, SalesFilters, codes_resolve_each, daily_totals
from streaming import simulation
from streaming.models import SalesEvent, SalesProfile


def profile_arrays() -> simulation.ProfileArrays | None:
    """Every profile as aligned arrays, or None before the first fit."""
    profiles = list(SalesProfile.objects.order_by("store_id", "item_id"))
    if not profiles:
        return None
    return simulation.ProfileArrays(
        store_ids=np.array([p.store_id for p in profiles]),
        item_ids=np.array([p.item_id for p in profiles]),
        level=np.array([p.level for p in profiles]),
        trend=np.array([p.trend for p in profiles]),
        dispersion=np.array([p.dispersion for p in profiles]),
        weekday_factors=np.array([p.weekday_factors for p in profiles]),
        month_factors=np.array([p.month_factors for p in profiles]),
        reference_date=profiles[0].reference_date,
        history_end=profiles[0].history_end,
    )


def generated_interval_latest() -> datetime | None:
    return SalesEvent.objects.filter(source=SalesEvent.Source.GENERATOR).aggregate(latest=Max("interval_start"))[
        "latest"
    ]


def event_latest_id() -> int:
    """Id of the newest event, 0 when the log is empty."""
    return SalesEvent.objects.aggregate(latest=Max("id"))["latest"] or 0


def events_after(*, after_id: int, limit: int = 500, before_id: int | None = None) -> list[dict[str, Any]]:
    """Payloads of the events with after_id < id (< before_id), oldest first."""
    events = SalesEvent.objects.filter(id__gt=after_id).order_by("id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return [event.payload() for event in events[:limit]]


def sales_event_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """The `sales` event as every stream gets it (SalesEvent.summary), from a published payload:
    the batch without its rows, with their breakdown (SalesEvent.breakdown)."""
    summary = {key: value for key, value in payload.items() if key != "rows"}
    summary.update(SalesEvent.breakdown([[row["store"], row["item"], row["quantity"]] for row in payload["rows"]]))
    return summary


def replay_bounded(*, after_id: int) -> bool:
    """Whether the events after `after_id` are few and recent enough to replay to a stream
    (STREAMING_REPLAY_MAX_EVENTS, STREAMING_REPLAY_MAX_HOURS); past that the client reloads instead."""
    later = SalesEvent.objects.filter(id__gt=after_id).order_by("id")
    if later[settings.STREAMING_REPLAY_MAX_EVENTS : settings.STREAMING_REPLAY_MAX_EVENTS + 1].exists():
        return False
    first = later.values_list("timestamp", flat=True).first()
    return first is None or first >= timezone.now() - timedelta(hours=settings.STREAMING_REPLAY_MAX_HOURS)


FilterKey = tuple[tuple[str, ...], tuple[str, ...]]
# Distinct stream filters whose metrics one query reads (a UNION ALL of one aggregate each).
METRICS_KEYS_PER_QUERY = 100


def stream_metrics(*, stores: tuple[str, ...] = (), items: tuple[str, ...] = (), last_event_id: int) -> dict[str, Any]:
    """The `metrics` event: today's and all-time sales for the stream's filters (store and item codes), from
    the smallest daily rollup that can answer them (the sales API's own source)."""
    return stream_metrics_many(keys=[(stores, items)], last_event_id=last_event_id)[(stores, items)]


def stream_metrics_many(*, keys: list[FilterKey], last_event_id: int) -> dict[FilterKey, dict[str, Any]]:
    """`stream_metrics` of each (stores, items) filter in `keys`: the codes of every filter resolved at once,
    then one query (per METRICS_KEYS_PER_QUERY filters), so that a batch costs the same few round trips
    however varied the streams."""
    today = timezone.localdate()
    store_ids = codes_resolve_each(model=Store, codes={code for stores, _ in keys for code in stores})
    item_ids = codes_resolve_each(model=Item, codes={code for _, items in keys for code in items})

    def ids(codes: tuple[str, ...], known: dict[str, int]) -> tuple[int, ...]:
        # A code that names nothing matches nothing (NO_ID), as codes_resolve does.
        return tuple(sorted({known.get(code, NO_ID) for code in codes}))

    totals: dict[int, tuple[int | float, int | float]] = {}
    for start in range(0, len(keys), METRICS_KEYS_PER_QUERY):
        parts = [
            daily_totals(filters=SalesFilters(stores=ids(stores, store_ids), items=ids(items, item_ids)))
            .order_by()
            .annotate(key=Value(start + offset))
            .values("key")
            .annotate(today=Sum("sales", filter=Q(date=today)), total=Sum("sales"))
            .values_list("key", "today", "total")
            for offset, (stores, items) in enumerate(keys[start : start + METRICS_KEYS_PER_QUERY])
        ]
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        totals.update({index: (number_plain(day or 0), number_plain(total or 0)) for index, day, total in rows})
    return {
        key: {
            "date": today.isoformat(),
            "today_total": totals.get(index, (0, 0))[0],
            "total_sales": totals.get(index, (0, 0))[1],
            "last_event_id": last_event_id,
        }
        for index, key in enumerate(keys)
    }


def stream_health() -> dict[str, Any]:
    """Age of the last generator tick: "stale" after three intervals without one,
    "empty" before the first. With the generator off (settings.LIVE_GENERATOR) no tick is due: "ok",
    and `generator` says "off"."""
    if not settings.LIVE_GENERATOR:
        return {"status": "ok", "generator": "off", "last_tick_age_seconds": None}
    latest = SalesEvent.objects.filter(source=SalesEvent.Source.GENERATOR).aggregate(latest=Max("timestamp"))["latest"]
    if latest is None:
        return {"status": "empty", "generator": "on", "last_tick_age_seconds": None}
    age = (timezone.now() - latest).total_seconds()
    stale = age > 3 * settings.STREAMING_INTERVAL_SECONDS
    return {"status": "stale" if stale else "ok", "generator": "on", "last_tick_age_seconds": round(age, 1)}


def recent_batches(*, limit: int = 8) -> list[dict[str, Any]]:
    """The last `limit` batches of today, oldest first, as the stream sends them (so the feed has
    context before the first live one arrives)."""
    # A batch with no units marks its interval as done, and is never shown (nor published).
    # Without `rows`: a catch-up batch holds every store-item (megabytes with tens of thousands of series); its
    # breakdown is kept apart.
    events = SalesEvent.objects.filter(date=timezone.localdate(), total__gt=0).defer("rows").order_by("-id")[:limit]
    return [event.summary() for event in reversed(events)]


def today_curve(*, bucket_minutes: int = 5) -> list[list[float]]:
    """Today's running total of the whole business from the live event log, for the live panel's
    curve before the page opened: [[hour of the day in TIME_ZONE, cumulative units], ...], one point
    at the end of each `bucket_minutes` slot that had any batch (at most 288 points a day)."""
    today = timezone.localdate()
    events = SalesEvent.objects.filter(date=today).order_by("timestamp").values_list("timestamp", "total")
    points: dict[int, int | float] = {}
    running = Decimal(0)
    for moment, total in events:
        running += total
        local = timezone.localtime(moment)
        slot = (local.hour * 60 + local.minute) // bucket_minutes
        if local.date() == today:  # a batch recorded just after midnight for yesterday's day stays out
            points[slot] = number_plain(running)
    return [[round(min(24.0, (slot + 1) * bucket_minutes / 60), 3), units] for slot, units in points.items()]
