"""A weekly history in the dashboard (real Chromium, Daphne, PostgreSQL): shown by week, with no empty days
between its weeks, its KPIs per week, and none of the live day's panels."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from core.testing import screenshot
from frontend.tests.dashboard_page import CHART_OPTION, open_dashboard
from sales.sample import sample_generate
from sales.services import sales_load_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _weekly_load(tmp_path, *, stores: int, items: int):
    """Two years of the sample summed into weeks ending on Friday (Walmart's), one row a week dated on
    its Friday, loaded aligned so that the last Friday is in the week before today; the load summary."""
    daily = tmp_path / "daily.csv"
    sample_generate(path=daily, stores=stores, items=items, start=date(2016, 1, 1), end=date(2017, 12, 29), seed=42)
    frame = pd.read_csv(daily, parse_dates=["date"])
    friday = frame["date"] + pd.to_timedelta((4 - frame["date"].dt.day_of_week) % 7, unit="D")
    weeks = frame.groupby([friday.rename("date"), "store", "item"])["sales"].sum().reset_index()
    path = tmp_path / "weekly.csv"
    weeks.to_csv(path, index=False, date_format="%Y-%m-%d")
    return sales_load_csv(path=path, align_to_today=True, followups=False)


@pytest.fixture
def weekly_sales(tmp_path):
    """2 stores x 3 items, weekly."""
    return _weekly_load(tmp_path, stores=2, items=3)


@pytest.fixture
def weekly_forecast(tmp_path):
    """1 store x 1 item, weekly, forecast by the real command (by week)."""
    from django.core.management import call_command

    _weekly_load(tmp_path, stores=1, items=1)
    call_command("forecast", workers=1, verbosity=0)


def test_a_weekly_history_is_shown_by_week_without_empty_days(weekly_sales, daphne_server, browser):
    assert weekly_sales.generated_days == []  # aligned by whole weeks, nothing generated between them
    page = browser.page()
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/api/sales/aggregated" in request.url else None)
    open_dashboard(page, daphne_server.url)
    assert asked and all(parse_qs(urlparse(url).query)["granularity"] == ["week"] for url in asked)

    history = page.evaluate(CHART_OPTION, "#history .chart")
    values = history["series"][0]["data"]
    # The default year, one point a week: about 52, each with sales (no zero days between the weeks).
    assert 50 <= len(history["x"]) <= 54
    assert all(isinstance(v, (int, float)) and v > 0 for v in values), values
    assert page.locator("#history-sub").inner_text().startswith("Weekly")

    # Labels say week; what only a daily history has is not shown.
    assert page.locator('[data-kpi="average"] .kpi__title').text_content() == "Average per week"
    assert page.locator('[data-kpi="last30"] .kpi__title').text_content() == "Last 4 weeks"
    assert "Best week" in page.locator('[data-kpi="average"] .kpi__note').inner_text()
    assert "52 full weeks" in page.locator('[data-kpi="yoy"] .kpi__note').inner_text()
    assert not page.locator('[data-kpi="today"]').is_visible()
    assert not page.locator("#live").is_visible()
    assert page.locator('input[name="granularity"][value="day"]').count() == 0
    assert page.locator('input[name="granularity"][value="week"]').is_checked()
    assert page.errors == []
    screenshot(page, "weekly-desktop")

    # A ?g=day link (from a daily history) reads as week.
    phone = browser.page(width=390, height=844)
    asked.clear()
    phone.on("request", lambda request: asked.append(request.url) if "/api/sales/aggregated" in request.url else None)
    open_dashboard(phone, f"{daphne_server.url}/?g=day")
    assert asked and all(parse_qs(urlparse(url).query)["granularity"] == ["week"] for url in asked)
    phone.wait_for_timeout(300)
    screenshot(phone, "weekly-phone")
    assert phone.errors == []
    phone.context.close()


def test_a_weekly_forecast_says_weeks(weekly_forecast, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    subtitle = page.locator("#forecast-sub").inner_text()
    assert re.search(r"next \d+ weeks \(by week\)$", subtitle), subtitle
    chart = page.evaluate(CHART_OPTION, "#forecast .chart")
    # History and forecast one point a week, each dated on its Friday; no "today so far" marker.
    assert {date.fromisoformat(day).weekday() for day in chart["x"]} == {4}
    assert "Expected by now" not in [series["name"] for series in chart["series"]]
    assert page.errors == []
    screenshot(page, "weekly-forecast-desktop")
