"""Fractional units on the page, in real Chromium against a real Daphne: the KPIs and charts show the
decimals and the unit the API gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontend.tests.dashboard_page import BARS, CHART_OPTION, kpi, kpi_text, open_dashboard
from sales.models import Item
from sales.services import sales_load_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kilograms(tmp_path):
    day = timezone.localdate() - timedelta(days=3)
    path = tmp_path / "train.csv"
    path.write_text(
        "date,store,item,sales\n"
        f"{day},1,BANANAS,2.474\n{day},2,BANANAS,7.5\n{day + timedelta(days=1)},1,BANANAS,-1\n"
        f"{day + timedelta(days=1)},2,APPLES,0.001\n"
    )
    sales_load_csv(path=path, followups=False)
    Item.objects.update(unit="kg")


def test_kpis_and_charts_show_decimals_and_the_unit(kilograms, daphne_server, browser):
    page = browser.page()
    open_dashboard(page, daphne_server.url)
    assert float(kpi(page, "total")) == 8.975
    assert kpi_text(page, "total") == "8.975"
    assert page.locator('[data-kpi="total"] .kpi__note').inner_text().startswith("kg · ")
    history = page.evaluate(CHART_OPTION, "#history .chart")
    drawn = [value for series in history["series"] for value in series["data"] if isinstance(value, int | float)]
    assert 9.974 in drawn and -0.999 in drawn
    bars = page.evaluate(BARS, "#breakdown .chart")
    assert sorted(bars["values"]) == [1.474, 7.501]
    assert page.locator("#breakdown-sub").inner_text().endswith("8.975 kg")
    assert page.errors == []
