"""The live stream at any hour of any day: the gap fill, the first tick and its catch-up, run at each
instant of the clock matrix (core.testing.CLOCK_MATRIX: every weekday around midnight and at midday,
and both daylight-saving changes of Europe/Berlin)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from core.testing import history_load
from sales.models import DailyTotal
from streaming import selectors, services
from streaming.models import SalesEvent

pytestmark = [pytest.mark.clock_matrix, pytest.mark.django_db]

INTERVAL = 3600  # hourly: the catch-up of a day spans many intervals, and the first one after midnight is long
HISTORY = {"stores": 1, "items": 2, "start": date(2017, 1, 1), "end": date(2017, 12, 31)}


def daily() -> dict[date, Decimal]:
    return dict(DailyTotal.objects.values_list("date", "sales"))


@override_settings(STREAMING_INTERVAL_SECONDS=INTERVAL)
def test_an_aligned_load_runs_up_to_yesterday_and_the_first_tick_makes_today(tmp_path, clock_instant):
    now = timezone.now()
    today = timezone.localdate()
    assert today == clock_instant.local.date()
    summary = history_load(tmp_path, **HISTORY).summary
    before = daily()
    # The load and its gap fill: every day from the first to yesterday has sales, none today yet.
    assert summary.date_to < today
    assert sorted(before) == [summary.date_from + timedelta(days=k) for k in range((today - summary.date_from).days)]

    ids = services.tick_generate(seed=1)

    after = daily()
    # The tick writes today only: the days the history holds stay as they were, yesterday included
    # when the tick runs in the first interval after midnight (that interval is yesterday's).
    assert {day: units for day, units in after.items() if day < today} == before
    events = list(SalesEvent.objects.order_by("id"))
    assert [event.id for event in events] == ids
    assert all(event.date == today == timezone.localdate(event.interval_start) for event in events)
    assert after.get(today, 0) == sum(event.total for event in events)
    last_start = services.interval_floor(moment=now, seconds=INTERVAL) - timedelta(seconds=INTERVAL)
    if timezone.localdate(last_start) < today:
        assert ids == []
    else:
        # The interval that just ended, after a catch-up from midnight when there were earlier ones today.
        assert events[-1].interval_start == last_start
        midnight = timezone.make_aware(datetime.combine(today, time.min))
        caught_up = last_start > midnight
        assert [event.kind for event in events] == ["catch-up"] * caught_up + ["generated"]
    # Idempotent: the same instant again adds nothing.
    assert services.tick_generate(seed=2) == []


@override_settings(STREAMING_INTERVAL_SECONDS=INTERVAL)
def test_each_tick_of_the_next_day_lands_on_its_own_day(tmp_path, clock_instant, time_machine):
    """Ticking hour by hour for a day from any instant: every interval lands once, on the local day it
    starts in (a daylight-saving day has 23 or 25 hours), and the stream's "today" follows the clock."""
    history_load(tmp_path, **HISTORY)
    start = timezone.now()
    for hour in range(26):
        time_machine.move_to(start + timedelta(hours=hour), tick=False)
        services.tick_generate(seed=hour)
        metrics = selectors.stream_metrics(last_event_id=0)
        assert metrics["date"] == timezone.localdate().isoformat()
        assert metrics["today_total"] == daily().get(timezone.localdate(), 0)
    generated = SalesEvent.objects.exclude(kind="catch-up")
    keys = list(generated.order_by("interval_start").values_list("interval_start", flat=True))
    assert keys == [keys[0] + timedelta(hours=k) for k in range(len(keys))]
    assert all(event.date == timezone.localdate(event.interval_start) for event in SalesEvent.objects.all())


def test_a_demo_restarted_after_days_off_is_filled_up_to_yesterday(tmp_path, clock_instant, time_machine):
    from sales.services import history_gap_fill_since_last

    summary = history_load(tmp_path, **HISTORY).summary
    left_on = timezone.localdate()
    # Back at the same wall-clock time three days later (across a daylight-saving change: 71 to 73 hours).
    local = timezone.localtime()
    time_machine.move_to(timezone.make_aware(datetime.combine(left_on + timedelta(days=3), local.time())), tick=False)
    today = timezone.localdate()
    assert today == left_on + timedelta(days=3)

    assert history_gap_fill_since_last() == [left_on, left_on + timedelta(days=1), left_on + timedelta(days=2)]
    days = sorted(daily())
    assert days == [summary.date_from + timedelta(days=k) for k in range((today - summary.date_from).days)]
