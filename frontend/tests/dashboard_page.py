"""Driving the dashboard page in the browser tests: when it is ready, what its KPIs and charts show, and
posting a batch while it is open. Shared by the test modules (none imports another)."""

from __future__ import annotations

import httpx

READY = "html[data-ready=true]"
WAIT_MS = 10_000

# The chart instances live in the page's ES modules; echarts finds them from their DOM node.
CHART_OPTION = """async (selector) => {
  const echarts = await import(document.querySelector('link[rel=modulepreload]').href);
  const chart = echarts.getInstanceByDom(document.querySelector(selector));
  if (!chart) return null;
  const o = chart.getOption();
  return {x: o.xAxis[0].data, series: o.series.map(s => ({name: s.name, data: s.data}))};
}"""


# The breakdown's bars: horizontal, names on the category (y) axis, best first.
BARS = """async (selector) => {
  const echarts = await import(document.querySelector('link[rel=modulepreload]').href);
  const o = echarts.getInstanceByDom(document.querySelector(selector)).getOption();
  return {names: o.yAxis[0].data, values: o.series[0].data.map((d) => d.exact ?? d.value)};
}"""


def open_dashboard(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=WAIT_MS)


def kpi(page, key: str) -> str:
    return page.locator(f'[data-kpi="{key}"] .kpi__value').get_attribute("data-value")


def kpi_text(page, key: str) -> str:
    return page.locator(f'[data-kpi="{key}"] .kpi__value').inner_text()


def ingest(server, token: str, rows: list[dict]) -> dict:
    response = httpx.post(
        f"{server.url}/api/sales/ingest", json={"rows": rows}, headers={"Authorization": f"Token {token}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()
