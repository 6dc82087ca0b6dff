"""axe-core (npm, devDependency) run in real Chromium on the loaded dashboard: no serious or critical
violation at desktop and phone widths, light and dark, with and without a forecast."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontend.tests.dashboard_page import READY, WAIT_MS, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Injected by the test only: the page never ships it. `make install` (npm ci) puts it there.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LAYOUTS = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "light"), (390, 844, "dark")]
BLOCKING = {"serious", "critical"}


def axe_install(page) -> None:
    """axe-core in every document the page opens. An init script, not a <script> tag: the page's
    Content-Security-Policy rightly refuses an inline script, and the page itself never serves axe."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci installs axe-core)")
    page.add_init_script(path=str(AXE))


def axe_violations(page) -> list[str]:
    """Serious and critical violations on the page as it is now, one line each with where."""
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def check_every_layout(browser, url: str) -> None:
    found = {}
    for width, height, scheme in LAYOUTS:
        page = browser.page(width=width, height=height, scheme=scheme)
        axe_install(page)
        page.goto(url)
        page.wait_for_selector(READY, timeout=WAIT_MS)
        page.wait_for_timeout(300)  # the feed's arrival flash and the charts' first frame
        violations = axe_violations(page)
        if violations:
            found[f"{width}px {scheme}"] = violations
        assert page.errors == []
        page.context.close()
    assert found == {}


def test_the_dashboard_without_a_forecast_has_no_serious_violations(sample_sales, api_token, daphne_server, browser):
    # A batch on the feed, so its list is there to be checked.
    ingest(daphne_server, api_token, [{"store": 1, "item": 1, "quantity": 12}, {"store": 2, "item": 3, "quantity": 7}])
    check_every_layout(browser, daphne_server.url)


def test_the_dashboard_with_a_forecast_has_no_serious_violations(fitted_forecast, daphne_server, browser):
    check_every_layout(browser, daphne_server.url)


@pytest.fixture
def fitted_forecast(tmp_path):
    from django.core.management import call_command

    from core.testing import history_load

    history_load(tmp_path, stores=1, items=1)
    call_command("forecast", workers=1, verbosity=0)
