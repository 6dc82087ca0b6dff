"""The dashboard with a few hundred items, in real Chromium: the pickers find an item by typing, the
breakdown ranks the top N with the rest as "other" (and pages through the rest), and big numbers stay
readable (compact, the exact figure on hover, nothing cut off)."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest

from core.testing import screenshot
from frontend.tests.dashboard_page import BARS, READY, WAIT_MS, open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEMS = 300


@pytest.fixture
def many_items(tmp_path):
    """3 stores x 300 items over 200 days (180,000 rows), through the real loader."""
    from sales.sample import sample_generate
    from sales.services import sales_load_csv

    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=3, items=ITEMS, start=date(2017, 6, 15), end=date(2017, 12, 31))
    return sales_load_csv(path=path, align_to_today=True, followups=False)


def breakdown_ready(page) -> None:
    page.wait_for_function("() => document.querySelector('#breakdown').dataset.state === 'ready'", timeout=WAIT_MS)


def test_the_item_picker_finds_an_item_by_typing_and_the_keyboard_picks_it(many_items, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    picker = page.get_by_role("combobox", name="Items")
    picker.focus()
    assert picker.get_attribute("aria-expanded") == "true"
    # 300 items: the list asks the API for the first ones and says how many more there are.
    page.wait_for_function("() => document.querySelectorAll('#f-items-list [role=option]').length === 50")
    assert "250 more" in page.locator("#f-items .picker__more").inner_text()
    page.keyboard.type("item 28")
    page.wait_for_function("() => document.querySelectorAll('#f-items-list [role=option]').length === 11")
    options = page.locator("#f-items-list [role=option]")
    assert options.all_inner_texts() == ["Item 28", *[f"Item {n}" for n in range(280, 290)]]
    page.keyboard.press("ArrowDown")  # from the best match (Item 28) to the next one
    assert picker.get_attribute("aria-activedescendant") == "f-items-list-280"
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('item=280')")
    assert page.locator("#f-items-list-280").get_attribute("aria-selected") == "true"
    # A store too, by its number: one store-item, and its forecast panel asks for exactly that series.
    with page.expect_request(lambda r: "/api/sales/predictions" in r.url and "store=2" in r.url) as request:
        page.keyboard.press("Escape")
        store = page.get_by_role("combobox", name="Stores")
        store.fill("2")
        page.keyboard.press("Enter")
    asked = parse_qs(urlparse(request.value.url).query)
    assert (asked["store"], asked["item"]) == (["2"], ["280"])
    page.keyboard.press("Escape")
    page.wait_for_selector(READY)
    query = parse_qs(urlparse(page.url).query)
    assert query["store"] == ["2"] and query["item"] == ["280"]
    assert page.locator("#f-items .chip").all_inner_texts() == ["Item 280\n\u00d7"]
    # Backspace in the empty picker takes the last pick off again.
    page.get_by_role("combobox", name="Items").focus()
    page.keyboard.press("Backspace")
    page.wait_for_function("() => !location.search.includes('item=')")
    nothing = page.get_by_role("combobox", name="Items")
    nothing.fill("no such thing")
    page.wait_for_function("() => document.querySelector('#f-items .picker__more').textContent.startsWith('No items')")
    assert page.locator("#f-items .picker__more").inner_text() == "No items match “no such thing”."
    assert page.errors == []


def test_the_breakdown_shows_the_top_items_and_the_rest_as_other_and_pages_through_them(
    many_items, daphne_server, browser
):
    page = browser.page()
    open_dashboard(page, f"{daphne_server.url}/?breakdown=item&range=all")
    breakdown_ready(page)
    bars = page.evaluate(BARS, "#breakdown .chart")
    api = daphne_server.get("/api/sales/breakdown", params={"by": "item", "top": 15}).json()
    assert bars["names"] == [row["name"] for row in api["rows"]] + [f"Other {ITEMS - 15} items"]
    assert bars["values"] == [row["sales"] for row in api["rows"]] + [api["other"]["sales"]]
    assert bars["values"][:15] == sorted(bars["values"][:15], reverse=True)
    assert page.locator("#breakdown .pager__where").inner_text() == f"1\u201315 of {ITEMS} items, best first"

    page.get_by_role("button", name="Bottom sellers").click()
    page.wait_for_function("() => document.querySelector('#breakdown .pager__where').textContent.includes('worst')")
    breakdown_ready(page)
    worst = page.evaluate(BARS, "#breakdown .chart")
    bottom = daphne_server.get("/api/sales/breakdown", params={"by": "item", "order": "asc"}).json()
    assert worst["values"][:10] == [row["sales"] for row in bottom["rows"]]
    assert worst["values"][:15] == sorted(worst["values"][:15])

    page.get_by_role("button", name="Next ranks").click()
    page.wait_for_function(
        "() => document.querySelector('#breakdown .pager__where').textContent.startsWith('16\u201330')"
    )
    breakdown_ready(page)
    second = page.evaluate(BARS, "#breakdown .chart")
    expected = daphne_server.get(
        "/api/sales/breakdown", params={"by": "item", "order": "asc", "top": 15, "offset": 15}
    ).json()
    assert second["names"][:15] == [row["name"] for row in expected["rows"]]
    assert page.get_by_role("button", name="Previous ranks").is_enabled()
    assert page.errors == []


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")])
def test_big_numbers_of_a_few_hundred_items_stay_readable(many_items, daphne_server, browser, width, scheme):
    page = browser.page(width=width, height=900, scheme=scheme)
    open_dashboard(page, f"{daphne_server.url}/?breakdown=item")
    breakdown_ready(page)
    cut = page.eval_on_selector_all(
        ".kpi__value, .kpi__note, .pager__where",
        "nodes => nodes.filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.closest('[data-kpi]')?.dataset.kpi || n.className)",
    )
    assert cut == []
    total = page.locator('[data-kpi="total"] .kpi__value')
    exact = int(total.get_attribute("data-value"))
    assert exact > 1_000_000
    assert total.inner_text() == f"{exact / 1e6:.1f}\u202fM"
    assert total.get_attribute("title") == f"{exact:,}"
    # The page does not grow sideways on a phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    screenshot(page, f"many-items-{width}-{scheme}")
    page.locator("#breakdown").screenshot(path=str(screenshot(page, f"many-items-{width}-{scheme}-breakdown")))
    page.get_by_role("combobox", name="Items").fill("item 1")
    page.locator("#filters").screenshot(path=str(screenshot(page, f"many-items-{width}-{scheme}-picker")))
    assert page.errors == []
