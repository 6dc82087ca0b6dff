"""Reads for the dashboard page itself: what the page needs before its first API call."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from sales.models import DailyTotal
from sales.selectors import generated_first_day, item_list, store_list
from streaming.models import SalesEvent


def dashboard_bootstrap() -> dict[str, Any]:
    """Stores, items and the date span of the history, embedded in the page so the
    filters and the range presets work before (and without) any API answer.

    `date_from`/`date_to` are the first and last day with any sales (ISO strings,
    None when the database is empty); the presets (30 d, 90 d, ...) count back
    from `date_to`. `generated_from`: the first day with generated sales (the demo's
    gap fill and live generator), None when all sales are reported; the page marks it.
    """
    span = DailyTotal.objects.aggregate(first=Min("date"), last=Max("date"))
    generated_from = generated_first_day()
    return {
        "stores": list(store_list().values("id", "name")),
        "items": list(item_list().values("id", "name")),
        "date_from": span["first"].isoformat() if span["first"] else None,
        "date_to": span["last"].isoformat() if span["last"] else None,
        "generated_from": generated_from.isoformat() if generated_from else None,
        "stream_interval_seconds": settings.STREAMING_INTERVAL_SECONDS,
        "forecast_days": settings.FORECAST_DAYS,
        # "Today" and the live curve's hours are the server's (settings.TIME_ZONE), not the browser's.
        "time_zone": settings.TIME_ZONE,
        "today": timezone.localdate().isoformat(),
        "today_curve": today_curve(),
        "recent_batches": recent_batches(),
    }


def recent_batches(*, limit: int = 8) -> list[dict[str, Any]]:
    """The last `limit` batches of today, oldest first, as the stream sends them (so the feed has
    context before the first live one arrives)."""
    # A batch with no units marks its interval as done, and is never shown (nor published).
    # Without `rows`: a catch-up batch holds every store-item (~1 MB at M5 size); its breakdown is kept apart.
    events = SalesEvent.objects.filter(date=timezone.localdate(), total__gt=0).defer("rows").order_by("-id")[:limit]
    return [event.summary() for event in reversed(events)]


def today_curve(*, bucket_minutes: int = 5) -> list[list[float]]:
    """Today's running total of the whole business from the live event log, for the live panel's
    curve before the page opened: [[hour of the day in TIME_ZONE, cumulative units], ...], one point
    at the end of each `bucket_minutes` slot that had any batch (at most 288 points a day)."""
    today = timezone.localdate()
    events = SalesEvent.objects.filter(date=today).order_by("timestamp").values_list("timestamp", "total")
    points: dict[int, float] = {}
    running = 0
    for moment, total in events:
        running += total
        local = timezone.localtime(moment)
        slot = (local.hour * 60 + local.minute) // bucket_minutes
        if local.date() == today:  # a batch recorded just after midnight for yesterday's day stays out
            points[slot] = running
    return [[round(min(24.0, (slot + 1) * bucket_minutes / 60), 3), units] for slot, units in points.items()]
