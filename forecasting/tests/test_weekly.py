"""Weekly histories (one row a week, the week ending on its date: Walmart's end on Fridays)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from core.testing import history_load
from forecasting import services
from forecasting.candidates import candidates_fit
from forecasting.models import ForecastRun, SeriesForecast
from forecasting.series_calendar import design_fit, shape_fit

# Three years of weeks ending on a Friday, and the year after them.
WEEKS = pd.date_range("2010-02-05", "2012-12-28", freq="7D")
FUTURE = pd.date_range(WEEKS[-1] + pd.Timedelta(days=7), periods=52, freq="7D")


def _holds(weeks: pd.DatetimeIndex, month: int, day: int) -> np.ndarray:
    """Whether each week (the 7 days ending on its date) holds that date of its year."""
    return np.array(
        [
            any((w - pd.Timedelta(days=b)).month == month and (w - pd.Timedelta(days=b)).day == day for b in range(7))
            for w in weeks
        ]
    )


def _thanksgiving_weeks(weeks: pd.DatetimeIndex) -> np.ndarray:
    """The week holding the fourth Thursday of November."""
    out = []
    for w in weeks:
        days = [w - pd.Timedelta(days=b) for b in range(7)]
        out.append(any(d.month == 11 and d.day_of_week == 3 and 22 <= d.day <= 28 for d in days))
    return np.array(out)


def _weekly_rate(weeks: pd.DatetimeIndex, level: float) -> np.ndarray:
    yearly = 1 + 0.15 * np.cos(2 * np.pi * (np.asarray(weeks.day_of_year) - 200) / 365.25)
    rate = level * yearly
    rate = rate * np.where(_thanksgiving_weeks(weeks), 1.6, 1.0)
    return rate * np.where(_holds(weeks, 12, 25), 1.4, 1.0)


def test_a_weekly_history_peaks_in_its_known_week():
    rng = np.random.default_rng(11)
    total = rng.poisson(_weekly_rate(WEEKS, 200_000)).astype(float)
    design, total_coef = design_fit(days=WEEKS, total=total, country="US")
    assert design.step_days == 7
    y = np.round(_weekly_rate(WEEKS, 15_000) * rng.lognormal(0, 0.05, len(WEEKS)), 2)  # dollars
    coef = shape_fit(y=y, days=WEEKS, design=design, prior=total_coef)
    fit = candidates_fit(y=y, days=WEEKS, design=design, coef=coef, pooled_coef=total_coef, horizon=52)
    assert not fit.fallback, fit.reason
    forecast = fit.forecasts["calendar"].mean
    assert len(forecast) == 52
    peak = FUTURE[int(np.argmax(forecast))]
    # Thanksgiving 2013 is 28 November: its week ends on Friday 29 November.
    assert peak == pd.Timestamp("2013-11-29"), (peak, design.holidays)
    ordinary = forecast[~(_thanksgiving_weeks(FUTURE) | _holds(FUTURE, 12, 25))]
    assert forecast.max() > 1.35 * np.median(ordinary)
    christmas = int(np.flatnonzero(_holds(FUTURE, 12, 25))[0])
    assert forecast[christmas] > 1.2 * np.median(ordinary)


# ---------------------------------------------------------------- a whole refit, in the database


def _weekly(frame: pd.DataFrame) -> None:
    """The generated days summed into weeks ending on Friday, one row a week dated on its Friday."""
    friday = frame["date"] + pd.to_timedelta((4 - frame["date"].dt.day_of_week) % 7, unit="D")
    frame["sales"] = frame.groupby([friday, "store", "item"])["sales"].transform("sum")
    frame.drop(frame.index[frame["date"] != friday], inplace=True)


@pytest.mark.django_db
def test_a_weekly_history_is_forecast_by_week_and_the_api_says_so(tmp_path, api_client):
    history_load(tmp_path, align_to_today=False, edit=_weekly)
    run = services.forecast_refit(days=30)
    assert run.frequency == ForecastRun.Frequency.WEEKLY
    assert run.training_end.weekday() == 4  # a Friday
    # 30 days are five weeks (ceil(30 / 7)), each dated on its Friday; backtested on 13 weeks.
    assert run.horizon_days == 35 and run.holdout_days == 91
    expected = [run.training_end + timedelta(days=7 * k) for k in range(1, 6)]
    for series in SeriesForecast.objects.filter(run=run):
        assert [p.date for p in series.points.order_by("date")] == expected, series
        assert not series.fallback, series.fallback_reason
    body = api_client.get("/api/sales/predictions?store=1").json()
    assert body["status"] == "ready"
    assert body["frequency"] == body["run"]["frequency"] == "W"
    assert [day["date"] for day in body["forecast"]] == [d.isoformat() for d in expected]
    assert {date.fromisoformat(day["date"]).weekday() for day in body["actuals"]} == {4}
    assert body["accuracy"]["coverage_80"] is not None
    two_weeks = api_client.get("/api/sales/predictions?store=1&days=10").json()
    assert len(two_weeks["forecast"]) == 2
