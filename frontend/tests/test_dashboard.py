"""The dashboard in real Chromium against a real Daphne, PostgreSQL and Redis."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from core.testing import history_load, in_thread, screenshot
from frontend.tests.dashboard_page import BARS, CHART_OPTION, READY, WAIT_MS, ingest, kpi, kpi_text, open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_page_renders_every_panel_without_console_errors(sample_sales, api_token, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    states = page.eval_on_selector_all(
        "[data-state]", "nodes => Object.fromEntries(nodes.map(n => [n.id, n.dataset.state]))"
    )
    assert states["kpis"] == "ready"
    assert states["history"] == "ready"
    assert states["breakdown"] == "ready"
    assert states["live"] == "ready"
    assert states["forecast"] in {"ready", "empty"}  # empty = "No forecast yet", designed
    history = page.evaluate(CHART_OPTION, "#history .chart")
    assert len(history["x"]) == 365  # the default view: one year of days
    breakdown = page.evaluate(BARS, "#breakdown .chart")
    assert sorted(breakdown["names"]) == ["Store 1", "Store 2", "Store 3"]
    # Every control can be reached by keyboard and has a name a screen reader can announce.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, button, summary')].filter((n) => {
             const named = n.labels?.length || n.getAttribute('aria-label') || n.textContent.trim();
             return !named || n.tabIndex < 0; }).map((n) => n.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    # Something on the feed for the screenshots; also proves a batch renders without errors.
    ingest(daphne_server, api_token, [{"store": 1, "item": 1, "quantity": 12}, {"store": 2, "item": 3, "quantity": 7}])
    ingest(daphne_server, api_token, [{"store": 3, "item": 2, "quantity": 25}])
    page.wait_for_selector(".feed li >> nth=1", timeout=WAIT_MS)
    assert page.errors == []
    page.wait_for_timeout(1500)  # let the arrival flash fade
    screenshot(page, "desktop-light")
    for width, height, scheme, name in [
        (1440, 900, "dark", "desktop-dark"),
        (390, 844, "light", "phone-light"),
        (390, 844, "dark", "phone-dark"),
    ]:
        other = browser.page(width=width, height=height, scheme=scheme)
        open_dashboard(other, daphne_server.url)
        other.wait_for_timeout(300)
        screenshot(other, name)
        assert other.errors == []
        other.context.close()


def test_kpi_numbers_equal_what_the_api_returns(sample_sales, api_token, daphne_server, browser):
    earlier = ingest(daphne_server, api_token, [{"store": 2, "item": 1, "quantity": 40}])  # so "today" is not zero
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    # The feed starts with today's batches from before the page opened, marked as such.
    assert "earlier" in page.locator(f'.feed li[data-event-id="{earlier["id"]}"]').inner_text().lower()
    # The default view is the 365 days up to the newest sale; the 30-day and yearly comparisons use the whole history.
    everything = daphne_server.get("/api/sales/metrics").json()
    ranged = daphne_server.get("/api/sales/metrics", params={"date_from": default_first_day(page)}).json()
    assert ranged["total_sales"] < everything["total_sales"]
    assert int(kpi(page, "total")) == ranged["total_sales"]
    assert kpi_text(page, "total") == f"{ranged['total_sales']:,}"
    assert float(kpi(page, "average")) == ranged["average_per_day"]
    assert int(kpi(page, "last30")) == everything["last_30_days"]["sales"]
    assert kpi_text(page, "last30") == f"{everything['last_30_days']['sales']:,}"
    growth = everything["year_over_year"]["growth_pct"]
    assert float(kpi(page, "yoy")) == growth
    assert kpi_text(page, "yoy").startswith("▲" if growth > 0 else "▼")
    assert int(kpi(page, "today")) == everything["today"]["actual"] == 40
    assert kpi(page, "top-store") == ranged["top_stores"][0]["store"]  # codes
    assert kpi_text(page, "top-store") == ranged["top_stores"][0]["name"]
    assert kpi(page, "top-item") == ranged["top_items"][0]["item"]
    assert page.errors == []


def default_first_day(page) -> str:
    """First day of the default "1 y" preset: 364 days before the newest day the page was served with."""
    newest = page.evaluate("() => JSON.parse(document.getElementById('dashboard-bootstrap').textContent).date_to")
    return (date.fromisoformat(newest) - timedelta(days=364)).isoformat()


def test_filters_change_the_chart_and_the_url_and_reload_restores_them(sample_sales, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    daily = page.evaluate(CHART_OPTION, "#history .chart")
    page.get_by_label("Week").check()
    page.get_by_role("combobox", name="Stores").fill("store 2")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector('#history').dataset.state === 'ready' && location.search.includes('store=2')"
    )
    query = parse_qs(urlparse(page.url).query)
    assert query["g"] == ["week"]
    assert query["store"] == ["2"]

    def weekly_chart():
        page.wait_for_function("() => document.querySelector('#history').dataset.state === 'ready'")
        return page.evaluate(CHART_OPTION, "#history .chart")

    weekly = weekly_chart()
    assert len(weekly["x"]) < len(daily["x"]) / 5
    assert all(date.fromisoformat(p).weekday() == 0 for p in weekly["x"])  # periods are Mondays
    # The values are store 2's weekly sales, as the API computes them.
    api = daphne_server.get(
        "/api/sales/aggregated",
        params={"granularity": "week", "store": 2, "date_from": default_first_day(page)},
    ).json()
    drawn = weekly["series"][0]["data"]
    if len(weekly["series"]) > 1:  # the week holding today is drawn apart, as "so far" (it is still filling up)
        drawn = drawn[:-1] + weekly["series"][1]["data"][-1:]
    assert drawn == [row["sales"] for row in api["results"]]

    page.reload()
    page.wait_for_selector(READY, timeout=WAIT_MS)
    assert page.get_by_label("Week").is_checked()
    assert page.locator("#f-stores .chip").all_inner_texts() == ["Store 2\n\u00d7"]
    assert weekly_chart() == weekly
    # The chart's data as CSV.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download history data as CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "period,sales"
    values = ["" if v is None else v for v in drawn]
    assert lines[1:] == [f"{p},{v}" for p, v in zip(weekly["x"], values, strict=True)]
    page.go_back()  # history entries: back to daily, all stores
    page.wait_for_function("() => !location.search.includes('store=2')")
    assert page.errors == []


def test_a_posted_batch_appears_in_the_live_panel_and_the_kpis(sample_sales, api_token, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    total_before = int(kpi(page, "total"))
    today_before = int(kpi(page, "today"))
    event = ingest(
        daphne_server, api_token, [{"store": 1, "item": 2, "quantity": 9}, {"store": 3, "item": 3, "quantity": 4}]
    )
    row = page.locator(f'.feed li[data-event-id="{event["id"]}"]')
    row.wait_for(timeout=5000)
    assert "+13" in row.inner_text()
    page.wait_for_function(
        f"() => document.querySelector('[data-kpi=today] .kpi__value').dataset.value === '{today_before + 13}'",
        timeout=5000,
    )
    assert int(kpi(page, "total")) == total_before + 13
    assert kpi_text(page, "today") == f"{today_before + 13:,}"
    # Only in place: no panel went back to loading, nothing was fetched again.
    assert page.eval_on_selector_all("[data-state=loading]", "n => n.length") == 0
    assert page.errors == []


def test_the_feed_downloads_one_record_per_batch_newest_first(sample_sales, api_token, daphne_server, browser):
    # One batch recorded before the page opened (the feed's prefill), one while it is open (live).
    earlier = ingest(daphne_server, api_token, [{"store": 2, "item": 1, "quantity": 40}])
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    live = ingest(
        daphne_server, api_token, [{"store": 1, "item": 2, "quantity": 9}, {"store": 3, "item": 3, "quantity": 4}]
    )
    page.locator(f'.feed li[data-event-id="{live["id"]}"]').wait_for(timeout=5000)

    with page.expect_download() as download:
        page.click('#live [data-act="csv"]')
    records = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert list(records[0]) == [
        "id",
        "timestamp",
        "date",
        "source",
        "total",
        "in_selection",
        "rows",
        "unusual",
        "missed",
    ]
    shown = [(r["id"], r["source"], r["total"], r["in_selection"], r["rows"], r["missed"]) for r in records[:2]]
    assert shown == [
        (str(live["id"]), "ingest", "13", "13", "2", "false"),
        (str(earlier["id"]), "ingest", "40", "40", "1", "false"),
    ]
    assert page.errors == []


def test_the_indicator_follows_the_server_and_shows_missed_batches(sample_sales, daphne_server, browser):
    from streaming.services import sales_ingest

    page = browser.page()
    open_dashboard(page, daphne_server.url)
    indicator = page.locator("#connection")
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    today_before = int(kpi(page, "today"))
    daphne_server.stop()
    page.wait_for_selector('#connection[data-status="reconnecting"]', timeout=WAIT_MS)
    assert "Reconnecting" in indicator.inner_text()
    # A filter changed while the server is away: a designed error state with a way out, not a blank chart.
    page.get_by_label("Month").check()
    page.wait_for_selector("#history[data-state=error]", timeout=WAIT_MS)
    assert "Server unreachable" in page.locator("#history .state").inner_text()
    # Sales recorded while this page cannot hear about them.
    missed = [in_thread(sales_ingest, rows=[(2, 2, 6)]).id, in_thread(sales_ingest, rows=[(1, 3, 5)]).id]
    daphne_server.start()
    page.wait_for_selector('#connection[data-status="live"]', timeout=15_000)
    for event_id in missed:
        row = page.locator(f'.feed li[data-event-id="{event_id}"]')
        row.wait_for(timeout=WAIT_MS)
        assert "missed" in row.inner_text().lower()
    page.wait_for_function(
        f"() => document.querySelector('[data-kpi=today] .kpi__value').dataset.value === '{today_before + 11}'",
        timeout=5000,
    )
    assert "Live" in indicator.inner_text()
    page.locator("#history .state").get_by_role("button", name="Retry").click()
    page.wait_for_selector("#history[data-state=ready]", timeout=WAIT_MS)
    monthly = page.evaluate(CHART_OPTION, "#history .chart")
    assert monthly["x"] and all(p.endswith("-01") for p in monthly["x"])


def test_an_empty_database_shows_designed_empty_states(daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    for panel in ("kpis", "history", "breakdown", "forecast"):
        assert page.locator(f"#{panel}").get_attribute("data-state") == "empty", panel
    assert "No sales in this range" in page.locator("#history .state").inner_text()
    assert "No forecast yet" in page.locator("#forecast .state").inner_text()
    assert page.locator("#footer-span").inner_text() == "not loaded yet"
    assert page.errors == []


@pytest.fixture
def running_refit(sample_sales):
    """A refit started and not finished, as right after `make run` loads the sample."""
    from forecasting.services import forecast_run_start

    return forecast_run_start(days=7)[0]


def test_while_the_first_refit_runs_the_forecast_panel_says_so(running_refit, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    assert page.locator("#forecast").get_attribute("data-state") == "empty"
    state = page.locator("#forecast .state").inner_text()
    assert "A refit is running" in state
    assert "nightly" not in state
    assert page.errors == []


@pytest.fixture
def fitted_forecast(tmp_path):
    """One store and one item (the fewest series to fit: total, store, item, store-item), forecast
    by the real command. The panel shows the total."""
    from django.core.management import call_command

    history_load(tmp_path, stores=1, items=1)
    call_command("forecast", workers=1, verbosity=0)


@pytest.fixture
def us_holidays_forecast(tmp_path, settings):
    """fitted_forecast's history, refitted with HOLIDAY_COUNTRY=US (read by the refit, which runs here)."""
    from django.core.management import call_command

    settings.HOLIDAY_COUNTRY = "US"
    history_load(tmp_path, stores=1, items=1)
    call_command("forecast", workers=1, verbosity=0)


def test_the_forecast_panel_names_the_country_holidays_it_learnt(
    us_holidays_forecast, api_token, daphne_server, browser
):
    model = daphne_server.get("/api/sales/predictions").json()["model"]
    named = [h for h in model["holidays"] if "name" in h]
    assert "Thanksgiving Day" in {h["name"] for h in named}, model["id"]
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    assert page.locator("#forecast").get_attribute("data-state") == "ready"
    # The Holidays figure names its strongest effects; its tooltip lists every one, a country holiday by name.
    title = page.locator("#forecast-accuracy div", has=page.locator("dt", has_text="Holidays")).get_attribute("title")
    for holiday in named:
        assert holiday["name"] in title
    thanksgiving = next(h for h in named if h["name"] == "Thanksgiving Day")
    assert f"Thanksgiving Day (next {thanksgiving['date']})" in title
    assert page.errors == []


def test_the_forecast_chart_shows_its_bands_and_accuracy(fitted_forecast, api_token, daphne_server, browser):
    api = daphne_server.get("/api/sales/predictions", params={"days": 30}).json()
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    assert page.locator("#forecast").get_attribute("data-state") == "ready"
    chart = page.evaluate(CHART_OPTION, "#forecast .chart")
    series = {s["name"]: s["data"] for s in chart["series"]}
    forecast_days = [f["date"] for f in api["forecast"]]
    at = [chart["x"].index(day) for day in forecast_days]
    # Each band is drawn as its lower edge plus a stacked width: both edges must be the API's.
    for level in ("80", "95"):
        lower = [series[f"{level} % interval low"][i] for i in at]
        width = [series[f"{level} % interval"][i] for i in at]
        assert lower == pytest.approx([f[f"lower_{level}"] for f in api["forecast"]])
        assert [lo + w for lo, w in zip(lower, width, strict=True)] == pytest.approx(
            [f[f"upper_{level}"] for f in api["forecast"]]
        )
        assert all(w > 0 for w in width)
    assert [series["Forecast"][i] for i in at] == pytest.approx([f["yhat"] for f in api["forecast"]])
    assert len([v for v in series["History"] if v is not None]) == len(api["actuals"])
    accuracy = page.locator("#forecast-accuracy").inner_text()
    # The page shows one decimal, rounded half up (12.25 reads 12.3), where Python's format rounds half to even.
    shown = re.search(r"SMAPE\s+([\d.]+)\s*%", accuracy)
    assert shown, accuracy
    assert float(shown.group(1)) == pytest.approx(api["accuracy"]["smape"], abs=0.05 + 1e-9)
    assert re.fullmatch(r"\d+\.\d", shown.group(1)), accuracy  # always one decimal: "1.0 %", not "1 %"
    assert "seasonal naive" in accuracy.lower()
    # Actual sales are drawn over the forecast as they arrive.
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    today = page.evaluate("() => JSON.parse(document.getElementById('dashboard-bootstrap').textContent).today")
    # The forecast starts tomorrow; today is drawn apart, as a partial day: its sales so far and what was
    # expected by now, not the whole day's forecast.
    assert api["today"]["date"] == today and forecast_days[0] > today
    assert series["Forecast"][chart["x"].index(today)] is None
    expected_now = series["Expected by now"][chart["x"].index(today)]
    assert 0 <= expected_now <= api["today"]["mean"]
    before = series["Actual"][chart["x"].index(today)] or 0
    event = ingest(daphne_server, api_token, [{"store": 1, "item": 1, "quantity": 17}])
    page.wait_for_function(
        """([selector, day, expected]) => import(document.querySelector('link[rel=modulepreload]').href).then((echarts) => {
             const o = echarts.getInstanceByDom(document.querySelector(selector)).getOption();
             return o.series.find((s) => s.name === 'Actual').data[o.xAxis[0].data.indexOf(day)] === expected; })""",
        arg=["#forecast .chart", today, before + 17],
        timeout=5000,
    )
    # About 50 units a day is expected; 17 within a minute is far outside the interval for that share of the day.
    row = page.locator(f'.feed li[data-event-id="{event["id"]}"]')
    assert "unusual" in row.inner_text().lower()
    assert "expected" in page.locator("#live-sub").inner_text()
    page.wait_for_timeout(1500)
    screenshot(page, "desktop-forecast-light")
    assert page.errors == []


def test_comparing_two_stores_and_the_store_item_heatmap(sample_sales, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, f"{daphne_server.url}/?compare=store&store=1,3&breakdown=heatmap&range=all&g=month")
    history = page.evaluate(CHART_OPTION, "#history .chart")
    # Each store is one line, plus its still-filling current month drawn apart: merge them back.
    lines: dict[str, list] = {}
    for series in history["series"]:
        merged = lines.setdefault(series["name"], [None] * len(history["x"]))
        for i, value in enumerate(series["data"]):
            merged[i] = value if value is not None else merged[i]
    assert list(lines) == ["Store 1", "Store 3"]
    for name, store in (("Store 1", 1), ("Store 3", 3)):
        api = daphne_server.get("/api/sales/aggregated", params={"granularity": "month", "store": store}).json()
        assert lines[name] == [row["sales"] for row in api["results"]]
    assert page.locator('#breakdown [data-view="heatmap"]').get_attribute("aria-pressed") == "true"
    grid = page.evaluate(
        """async () => { const e = await import(document.querySelector('link[rel=modulepreload]').href);
             const o = e.getInstanceByDom(document.querySelector('#breakdown .chart')).getOption();
             return {stores: o.yAxis[0].data, items: o.xAxis[0].data, cells: o.series[0].data}; }"""
    )
    assert grid["stores"] == ["Store 1", "Store 3"]
    assert grid["items"] == ["1", "2", "3"]
    for x, y, units in grid["cells"]:
        store, item = (1, 3)[y], int(grid["items"][x])
        expected = daphne_server.get("/api/sales/metrics", params={"store": store, "item": item}).json()
        assert units == expected["total_sales"]
    page.get_by_role("button", name="By item").click()
    page.wait_for_function("() => location.search.includes('breakdown=item')")
    assert page.errors == []


def test_the_whole_selection_heatmap_follows_live_batches(sample_sales, api_token, daphne_server, browser):
    # Without filters a live event carries per-store and per-item sums only: the heatmap re-reads its grid.
    page = browser.page()
    open_dashboard(page, f"{daphne_server.url}/?breakdown=heatmap&range=all&g=month")
    page.wait_for_selector('#connection[data-status="live"]', timeout=WAIT_MS)
    cell = """async ([store, item]) => {
      const e = await import(document.querySelector('link[rel=modulepreload]').href);
      const o = e.getInstanceByDom(document.querySelector('#breakdown .chart')).getOption();
      const x = o.xAxis[0].data.indexOf(String(item)), y = o.yAxis[0].data.indexOf(`Store ${store}`);
      return o.series[0].data.find(([cx, cy]) => cx === x && cy === y)[2]; }"""
    before = page.evaluate(cell, [2, 3])
    assert before == daphne_server.get("/api/sales/metrics", params={"store": 2, "item": 3}).json()["total_sales"]
    ingest(daphne_server, api_token, [{"store": 2, "item": 3, "quantity": 41}])
    # (wait_for_function does not await an async predicate: poll from here.)
    deadline = time.monotonic() + 20
    while page.evaluate(cell, [2, 3]) != before + 41 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert page.evaluate(cell, [2, 3]) == before + 41
    assert page.eval_on_selector_all("#breakdown[data-state=loading]", "n => n.length") == 0
    assert page.errors == []


def test_store_names_in_chart_tooltips_stay_text(sample_sales, daphne_server, browser):
    # Names are edited by staff in the admin; the tooltips are HTML, so a name must not become markup.
    from sales.models import Store

    hostile = '<img src=x onerror="window.__xss=1">Store 1'
    in_thread(lambda: Store.objects.filter(id=1).update(name=hostile))
    page = browser.page()
    open_dashboard(page, f"{daphne_server.url}/?compare=store&store=1,3&range=all&g=month")
    tooltips = page.evaluate(
        """async () => {
             const e = await import(document.querySelector('link[rel=modulepreload]').href);
             const shown = [];
             for (const selector of ['#history .chart', '#breakdown .chart']) {
               const node = document.querySelector(selector);
               e.getInstanceByDom(node).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});
               await new Promise((resolve) => setTimeout(resolve, 300));
               const tip = [...node.querySelectorAll('div')].find((d) => d.textContent.includes('Store 1'));
               shown.push(tip ? {text: tip.textContent, images: tip.querySelectorAll('img').length} : null);
             }
             return shown;
           }"""
    )
    for tip in tooltips:
        assert tip is not None
        assert '<img src=x onerror="window.__xss=1">' in tip["text"] and tip["images"] == 0
    assert page.evaluate("() => window.__xss") is None


@pytest.fixture
def server_without_redis(django_db_setup, viewer_token, tmp_path):
    """A real Daphne whose REDIS_URL points at a port where nothing listens: the broker is away."""
    from core.devstack import free_port
    from core.testing import DaphneProcess

    server = DaphneProcess(
        log_dir=tmp_path,
        env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
        headers={"Authorization": f"Token {viewer_token}"},
    )
    server.start()
    yield server
    server.stop()


def test_with_redis_away_the_page_says_live_updates_are_unavailable(sample_sales, server_without_redis, browser):
    # /health agrees: the page's message is not a guess.
    assert server_without_redis.get("/health").json()["checks"]["redis"] == "down"
    page = browser.page()
    open_dashboard(page, server_without_redis.url)
    page.wait_for_selector('#connection[data-status="unavailable"]', timeout=WAIT_MS)
    assert "No live updates" in page.locator("#connection").inner_text()
    notice = page.locator("#live .live__notice")
    assert notice.is_visible()
    assert "Live updates unavailable" in notice.inner_text()
    assert "message broker" in notice.inner_text()
    # The figures come from PostgreSQL and are all there.
    for panel in ("kpis", "history", "breakdown", "live"):
        assert page.locator(f"#{panel}").get_attribute("data-state") == "ready", panel
    assert int(kpi(page, "total")) > 0
    history = page.evaluate(CHART_OPTION, "#history .chart")
    assert history["x"] and any(history["series"][0]["data"])
    # The browser retries every few seconds: the state holds, and nothing reaches the console.
    page.wait_for_timeout(4000)
    assert page.locator("#connection").get_attribute("data-status") == "unavailable"
    assert page.errors == []
    screenshot(page, "redis-away-desktop-light")
    phone = browser.page(width=390, height=844, scheme="dark")
    open_dashboard(phone, server_without_redis.url)
    phone.wait_for_selector('#connection[data-status="unavailable"]', timeout=WAIT_MS)
    assert phone.locator("#live .live__notice").is_visible()
    assert phone.errors == []
    screenshot(phone, "redis-away-phone-dark")
    # The indicator's longer labels fit a phone's width beside the title (no sideways scrolling).
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_pages_csv_escapes_cells_a_spreadsheet_would_run(daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    csv = page.evaluate(
        """async () => {
             const { toCsv } = await import(new URL('/static/frontend/js/format.js', location.href).href);
             return toCsv(['name', 'sales'], [{name: '=1+2', sales: -3}, {name: '@A1', sales: 4}, {name: 'ok', sales: 5}]);
           }"""
    )
    assert csv.split("\r\n") == ["name,sales", "'=1+2,-3", "'@A1,4", "ok,5", ""]
