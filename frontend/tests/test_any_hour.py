"""The live panel's "today so far" at any hour of any day (the clock matrix: core.testing.CLOCK_MATRIX):
the running curve, the feed's batches and the dashboard's "today" all mean the local day of TIME_ZONE."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.testing import history_load
from frontend.selectors import dashboard_bootstrap
from sales.models import DailyTotal
from streaming import services
from streaming.models import SalesEvent

pytestmark = [pytest.mark.clock_matrix, pytest.mark.django_db]

INTERVAL = 600


@override_settings(STREAMING_INTERVAL_SECONDS=INTERVAL)
def test_today_so_far_holds_todays_batches_at_the_hours_they_came(tmp_path, clock_instant, time_machine):
    history_load(tmp_path, stores=1, items=2, start=date(2017, 1, 1), end=date(2017, 12, 31))
    services.tick_generate(seed=1)
    # And one more batch an interval later (after midnight when the instant is just before it).
    time_machine.move_to(timezone.now() + timedelta(seconds=INTERVAL), tick=False)
    services.tick_generate(seed=2)
    today = timezone.localdate()
    total = DailyTotal.objects.filter(date=today).values_list("sales", flat=True).first() or 0

    bootstrap = dashboard_bootstrap()

    assert bootstrap["today"] == today.isoformat()
    todays = SalesEvent.objects.filter(date=today, total__gt=0)
    assert [batch["id"] for batch in bootstrap["recent_batches"]] == list(
        todays.order_by("id").values_list("id", flat=True)
    )
    curve = bootstrap["today_curve"]
    # Hours of the local wall clock: after midnight, and no later than now (rounded up to the curve's slot).
    wall_hours = timezone.localtime().hour + timezone.localtime().minute / 60
    assert all(0 < hour <= min(24, wall_hours + 5 / 60) for hour, _ in curve), curve
    assert (curve[-1][1] if curve else 0) == total
