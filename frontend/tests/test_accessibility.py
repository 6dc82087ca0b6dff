"""axe-core (npm, devDependency) run in real Chromium on the loaded dashboard: no serious or critical
violation at desktop and phone widths, light and dark, with and without a forecast."""

from __future__ import annotations

import pytest

from core.testing import axe_install, axe_violations
from frontend.tests.dashboard_page import READY, WAIT_MS, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUTS = [(1280, 900, "light"), (1280, 900, "dark"), (390, 844, "light"), (390, 844, "dark")]


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
