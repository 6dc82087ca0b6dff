"""The first minutes of a freshly loaded demo, in real Chromium: the page tells the truth.

`make run` loads the sample aligned to today (the days up to yesterday generated), refits the
forecast, and the live worker's first tick catches up today. The tick is run here at 18:00 and the
browser's clock is set to a minute later, so "today so far" is judged on three quarters of a day
whatever the hour the suite runs at (early in the day a few units of noise would swamp the ratio).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from core.testing import history_load, in_thread, screenshot
from frontend.tests.dashboard_page import CHART_OPTION, READY, WAIT_MS, kpi

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

START = time(18, 0, 30)  # the demo's start, in TIME_ZONE (UTC in the tests)
PACE_TOLERANCE = 0.25


@pytest.fixture
def fresh_demo(tmp_path, settings):
    """3 stores x 3 items loaded aligned to today, the forecast refitted, and the first tick at START."""
    from django.core.management import call_command

    from streaming import services

    summary = history_load(tmp_path, stores=3, items=3).summary
    call_command("forecast", workers=1, verbosity=0)
    start = timezone.make_aware(datetime.combine(timezone.localdate(), START))
    ids = services.tick_generate(now=start, seed=5)
    return {"summary": summary, "start": start, "events": ids}


def test_a_freshly_loaded_demo_reads_true(fresh_demo, daphne_server, browser):
    start = fresh_demo["start"]
    today = start.date()
    assert len(fresh_demo["events"]) == 2  # today's catch-up, then the interval that just ended

    # No empty day between the history and today: every day has sales, today included.
    days = daphne_server.get("/api/sales/aggregated", params={"granularity": "day"}, timeout=30).json()
    dates = [row["period"] for row in days["results"]]
    assert dates[-1] == today.isoformat()
    first = datetime.fromisoformat(dates[0]).date()
    assert len(dates) == (today - first).days + 1
    assert all(row["sales"] > 0 for row in days["results"])

    metrics = daphne_server.get("/api/sales/metrics", timeout=30).json()
    # The forecast is fitted up to yesterday, so it has today: the pace is measured against it.
    assert metrics["today"]["forecast"], metrics["today"]

    page = browser.page()
    page.clock.set_fixed_time(start.astimezone(UTC) + timedelta(minutes=1))
    page.goto(daphne_server.url)
    page.wait_for_selector(READY, timeout=WAIT_MS)

    # "Today so far" against the pace of the day's forecast, a minute after the start.
    fraction = (START.hour * 3600 + START.minute * 60 + 60 + START.second) / 86400
    actual = int(kpi(page, "today"))
    pace = metrics["today"]["forecast"] * fraction
    assert abs(actual / pace - 1) <= PACE_TOLERANCE, (actual, pace)
    assert "vs pace" in page.locator('[data-kpi="today"] .kpi__note').inner_text()

    # The history chart has no hole: a value for every day drawn (today's apart, as "so far").
    history = page.evaluate(CHART_OPTION, "#history .chart")
    drawn = history["series"][0]["data"]
    so_far = history["series"][1]["data"] if len(history["series"]) > 1 else []
    assert history["x"][-1] == today.isoformat()
    assert all(value is not None for value in drawn[:-1])
    assert drawn[-1] is not None or so_far[-1] is not None

    # Generated data says so: on the history, in the footer, in the KPI notes and in the feed.
    assert "generated sample" in page.locator("#history-sub").inner_text()
    assert "generated sample from" in page.locator("#footer-span").inner_text()
    # The 30 full days before today hold generated days unless the history, aligned by whole weeks, already
    # ended yesterday (a sample ending on a Sunday, loaded on a Monday): then only today is generated.
    last30_note = page.locator('[data-kpi="last30"] .kpi__note').inner_text()
    assert ("includes generated sample" in last30_note) == bool(fresh_demo["summary"].generated_days), last30_note
    feed = page.locator(".feed li").all_inner_texts()
    assert any("Catch-up · generated sample" in text for text in feed), feed
    # The minute's own batch is a fraction of a unit for 9 store-items: most likely empty, and then not shown.
    assert all(" 0 rows" not in text for text in feed), feed
    # Why "Total sales" and the year-over-year figure differ: each says which window it covers.
    assert "Selected range" in page.locator('[data-kpi="total"] .kpi__note').inner_text()
    assert "365 full days to" in page.locator('[data-kpi="yoy"] .kpi__note').inner_text()
    assert page.errors == []
    screenshot(page, "first-minutes-desktop-light")


def test_a_catch_up_arriving_while_the_page_is_open_ramps_up_from_midnight(tmp_path, daphne_server, browser):
    """`make run` prints the URL before the live worker's first tick: a newcomer's page is often open
    when today's catch-up arrives. It holds the sales since midnight, so the curve climbs from there
    instead of standing at zero until now and jumping."""
    from streaming import services

    in_thread(history_load, tmp_path, stores=3, items=3)
    start = timezone.make_aware(datetime.combine(timezone.localdate(), START))
    page = browser.page()
    page.clock.set_fixed_time(start.astimezone(UTC) - timedelta(minutes=1))  # opened just before the tick
    page.goto(daphne_server.url)
    page.wait_for_selector(READY, timeout=WAIT_MS)
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    catch_up = in_thread(services.tick_generate, now=start, seed=5)[0]
    page.locator(f'.feed li[data-event-id="{catch_up}"]').wait_for(timeout=WAIT_MS)

    live = page.evaluate(CHART_OPTION, "#live .chart")
    actual = next(series["data"] for series in live["series"] if series["name"] == "Actual")
    assert actual[0] == [0, 0], actual
    assert all(units > 0 for _, units in actual[1:]), actual
    assert page.errors == []
