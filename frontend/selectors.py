"""Reads for the dashboard page itself: what the page needs before its first API call."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from sales.selectors import (
    GROUP_BYS,
    catalogue_named,
    generated_first_day,
    history_frequency,
    history_span,
    store_list,
)
from streaming.selectors import recent_batches, today_curve


def dashboard_bootstrap(*, stores: list[str] | None = None, items: list[str] | None = None) -> dict[str, Any]:
    """The names of the selected stores and items (`catalogue_named`) and the date span of the history,
    embedded in the page so the filters and the range presets work before (and without) any API answer.

    `date_from`/`date_to` are the first and last day with any sales (ISO strings,
    None when the database is empty); the presets (30 d, 90 d, ...) count back
    from `date_to`. `generated_from`: the first day with generated sales (the demo's
    gap fill and live generator), None when all sales are reported; the page marks it.
    `frequency`: "W" for a weekly history (`history_frequency`): the page shows it by week and hides
    what only a daily one has (today so far, the live day), else "D".
    """
    span = history_span()
    generated_from = generated_first_day()
    return {
        "named": catalogue_named(stores=stores or [], items=items or []),
        # Whether the sales reads take region, category and department (filters and groupings): until then
        # the level pickers narrow the store and item lists only, and the breakdown offers no level.
        "hierarchy_reads": {"region", "category", "department"} <= set(GROUP_BYS),
        "date_from": span.first.isoformat() if span.first else None,
        "date_to": span.last.isoformat() if span.last else None,
        "generated_from": generated_from.isoformat() if generated_from else None,
        "frequency": history_frequency(),
        "stream_interval_seconds": settings.STREAMING_INTERVAL_SECONDS,
        # Off: no generated batch arrives; the connection indicator and the feed say so.
        "live_generator": settings.LIVE_GENERATOR,
        "forecast_days": settings.FORECAST_DAYS,
        # What units are called when an answer's selection is in the default unit (labels then say nothing).
        "default_unit": settings.SALES_DEFAULT_UNIT,
        # "Today" and the live curve's hours are the server's (settings.TIME_ZONE), not the browser's.
        "time_zone": settings.TIME_ZONE,
        "today": timezone.localdate().isoformat(),
        "today_curve": today_curve(),
        "recent_batches": recent_batches(),
    }


def alerts_bootstrap(*, can_edit: bool) -> dict[str, Any]:
    """What the alerts page needs before its first API call: the stores (the editor's picker), the
    server's time zone (times are shown in it) and whether the user may edit."""
    return {"stores": list(store_list().values("code", "name")), "time_zone": settings.TIME_ZONE, "can_edit": can_edit}
