"""HOLIDAY_COUNTRY: a country's moving holidays as effects the calendar learns, refitted in real PostgreSQL.

A known answer: a small history whose sales triple on US Thanksgiving (the fourth Thursday of November,
a different date every year). With HOLIDAY_COUNTRY=US the next Thanksgiving is forecast near triple its
neighbouring Thursdays, and the API names the effect; without it, it is forecast as a plain Thursday."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from forecasting import services
from forecasting.models import ForecastPoint, Level, SeriesForecast
from sales.sample import sample_generate
from sales.services import sales_load_csv

pytestmark = pytest.mark.django_db
URL = "/api/sales/predictions"
LIFT = 3


def _thanksgivings(first: date, last: date) -> list[date]:
    calendar = holidays.country_holidays("US", years=range(first.year, last.year + 1))
    return [day for day, name in calendar.items() if name == "Thanksgiving Day" and first <= day <= last]


@pytest.fixture
def thanksgiving_history(tmp_path):
    # Ending three days ago, so that loading aligned to today shifts no date.
    end = timezone.localdate() - timedelta(days=3)
    # Exactly three past Thanksgivings, whatever today is: from 300 days before the third last (the one
    # before it is at least 358 days earlier). A fixed span of three years and a week holds four when it
    # ends a few days after one.
    third_last = _thanksgivings(end - timedelta(days=4 * 366), end)[-3]
    start = third_last - timedelta(days=300)
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=1, items=2, start=start, end=end, shape="tidy")
    frame = pd.read_csv(path)
    past = _thanksgivings(start, end)
    lifted = frame["date"].isin([d.isoformat() for d in past])
    assert len(past) == 3 and lifted.sum() == 3 * 2  # two store-items
    frame.loc[lifted, "sales"] *= LIFT
    frame.to_csv(path, index=False)
    sales_load_csv(path=path, align_to_today=True, followups=False)
    return end


def _thanksgiving_lift(run) -> tuple[date, float]:
    """The next Thanksgiving in the horizon and its forecast mean over its four neighbouring Thursdays' (total)."""
    thanksgiving = _thanksgivings(run.training_end + timedelta(days=1), run.training_end + timedelta(days=365))[0]
    total = SeriesForecast.objects.get(run=run, level=Level.TOTAL)
    points = {p.date: p.mean for p in ForecastPoint.objects.filter(series=total) if p.mean is not None}
    neighbours = [
        thanksgiving + timedelta(weeks=w) for w in (-2, -1, 1, 2) if thanksgiving + timedelta(weeks=w) in points
    ]
    return thanksgiving, points[thanksgiving] / float(np.mean([points[d] for d in neighbours]))


def test_a_moving_holiday_is_forecast_only_with_its_country(thanksgiving_history, settings, client):
    settings.HOLIDAY_COUNTRY = ""
    plain = services.forecast_refit(days=365)
    assert plain.parameters["design"]["country_holidays"] == []
    _day, lift_without = _thanksgiving_lift(plain)
    assert lift_without < 1.5

    settings.HOLIDAY_COUNTRY = "US"
    run = services.forecast_refit(days=365)
    names = [name for name, _dates in run.parameters["design"]["country_holidays"]]
    assert "Thanksgiving Day" in names
    assert "holiday Thanksgiving Day (US)" in run.parameters["exogenous"]
    thanksgiving, lift_with = _thanksgiving_lift(run)
    assert 2.0 < lift_with < 4.0
    total = SeriesForecast.objects.get(run=run, level=Level.TOTAL)
    assert total.info["country_holidays"]["Thanksgiving Day"] > 1.0  # +200 % learnt, shrunk a little at most

    # The API and the panel name it, with its next day; fixed dates learnt from the history keep {date, effect}.
    model = client.get(URL).json()["model"]
    assert model["id"] in ("calendar", "pooled")  # both carry the effect: the series' own, or the total's
    named = {h["name"]: h for h in model["holidays"] if "name" in h}
    assert named["Thanksgiving Day"]["date"] == thanksgiving.isoformat()
    assert named["Thanksgiving Day"]["effect"] > 1.0
    assert all(set(h) == {"date", "effect"} for h in model["holidays"] if "name" not in h)
