"""The hierarchy on the dashboard, in Chromium: region, category and department pickers whose codes live in
the URL, each narrowing the pickers below it (a category's departments, a region's stores), at desktop and
phone widths; the panels follow them, and the breakdown drills down (category, department, item; region,
store)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from frontend.tests.dashboard_page import BARS, READY, WAIT_MS, kpi, open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "/tmp/hier-screens"


@pytest.fixture
def hierarchy_sales(sample_sales, tmp_path):
    """The sample's 3 stores in two regions, its 3 items in two departments of two categories."""
    from django.core.management import call_command

    stores, items = tmp_path / "stores.csv", tmp_path / "items.csv"
    stores.write_text("store,region,city\n1,North,Oslo\n2,North,Bergen\n3,South,Kristiansand\n")
    items.write_text(
        "item,name,category,department\n1,Milk,FOODS,FOODS_1\n2,Bread,FOODS,FOODS_2\n3,Soap,HOUSE,HOUSE_1\n"
    )
    call_command("load_train", "--stores", str(stores), "--items", str(items), "--no-followups", verbosity=0)
    return sample_sales


def options(page, name: str) -> list[str]:
    """The options a picker lists once its answer is in."""
    box = page.get_by_role("combobox", name=name)
    box.click()
    listbox = page.locator(f"#{box.get_attribute('aria-controls')}")
    page.wait_for_function(
        "(id) => document.getElementById(id).children.length > 0", arg=listbox.get_attribute("id"), timeout=WAIT_MS
    )
    page.wait_for_timeout(300)  # the latest question's answer (typing waits 150 ms before asking)
    texts = listbox.locator("[role=option]").all_inner_texts()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    return texts


def pick(page, name: str, text: str) -> None:
    box = page.get_by_role("combobox", name=name)
    box.fill(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


@pytest.mark.parametrize(("width", "height", "label"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_the_level_pickers_narrow_the_lists_and_live_in_the_url(
    hierarchy_sales, daphne_server, browser, width, height, label
):
    page = browser.page(width=width, height=height)
    open_dashboard(page, daphne_server.url)
    assert options(page, "Categories") == ["FOODS", "HOUSE"]
    pick(page, "Categories", "FOODS")
    page.wait_for_function("() => location.search.includes('category=FOODS')")
    assert options(page, "Departments") == ["FOODS_1", "FOODS_2"]
    assert options(page, "Items") == ["Milk · 1", "Bread · 2"]
    pick(page, "Regions", "south")
    page.wait_for_function("() => location.search.includes('region=South')")
    assert options(page, "Stores") == ["Store 3"]
    query = parse_qs(urlparse(page.url).query)
    assert (query["category"], query["region"]) == (["FOODS"], ["South"])
    page.reload()
    page.wait_for_selector(READY, timeout=WAIT_MS)
    assert page.locator("#f-categories .chip").all_inner_texts() == ["FOODS\n\u00d7"]
    assert page.locator("#f-regions .chip").all_inner_texts() == ["South\n\u00d7"]
    page.screenshot(path=f"{SCREENSHOTS}/pickers-{label}.png", full_page=True)
    page.go_back()
    page.wait_for_function("() => !location.search.includes('region=')")
    assert page.errors == []


# A bar's middle, in page coordinates: where a user clicks it.
BAR_POINT = """async ([selector, name]) => {
  const echarts = await import(document.querySelector('link[rel=modulepreload]').href);
  const node = document.querySelector(selector);
  node.scrollIntoView({block: 'center'});
  const chart = echarts.getInstanceByDom(node);
  const o = chart.getOption();
  const index = o.yAxis[0].data.indexOf(name);
  const value = o.series[0].data[index].value;
  const [x, y] = chart.convertToPixel({seriesIndex: 0}, [value / 2, index]);
  const box = node.getBoundingClientRect();
  return [box.left + x, box.top + y];
}"""


def first_day(page) -> str:
    """First day of the default "1 y" preset: 364 days before the newest day the page was served with."""
    newest = page.evaluate("() => JSON.parse(document.getElementById('dashboard-bootstrap').textContent).date_to")
    return (date.fromisoformat(newest) - timedelta(days=364)).isoformat()


def bars(page) -> list[str]:
    page.wait_for_function("() => document.querySelector('#breakdown').dataset.state === 'ready'", timeout=WAIT_MS)
    return page.evaluate(BARS, "#breakdown .chart")["names"]


def click_bar(page, name: str, then: str) -> None:
    x, y = page.evaluate(BAR_POINT, ["#breakdown .chart", name])
    page.mouse.click(x, y)
    page.wait_for_function("(then) => location.search.includes(then)", arg=then, timeout=WAIT_MS)


def test_the_breakdown_drills_down_each_level(hierarchy_sales, daphne_server, browser):
    page = browser.page(width=1280, height=900)
    open_dashboard(page, f"{daphne_server.url}/?breakdown=category")
    assert sorted(bars(page)) == ["FOODS", "HOUSE"]
    click_bar(page, "FOODS", "breakdown=department")
    assert parse_qs(urlparse(page.url).query)["category"] == ["FOODS"]
    assert sorted(bars(page)) == ["FOODS_1", "FOODS_2"]
    # The key figures follow the level filter, as the API answers it.
    metrics = daphne_server.get("/api/sales/metrics", params={"category": "FOODS", "date_from": first_day(page)}).json()
    page.wait_for_function("() => document.querySelector('#kpis').dataset.state === 'ready'")
    assert int(kpi(page, "total")) == metrics["total_sales"]
    assert kpi(page, "top-item") in {"1", "2"}  # Milk or Bread: FOODS's items only
    click_bar(page, "FOODS_1", "breakdown=item")
    assert bars(page) == ["Milk"]
    assert page.get_by_role("button", name="By item").get_attribute("aria-pressed") == "true"
    page.screenshot(path=f"{SCREENSHOTS}/drill-items.png", full_page=True)
    page.goto(f"{daphne_server.url}/?breakdown=region")
    page.wait_for_selector(READY, timeout=WAIT_MS)
    assert sorted(bars(page)) == ["North", "South"]
    click_bar(page, "South", "region=South")  # by store: the default, left out of the URL
    assert bars(page) == ["Store 3"]
    assert page.errors == []
