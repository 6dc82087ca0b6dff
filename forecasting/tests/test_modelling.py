"""The model and its figures, on hand-made series with known answers (no database)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting import modelling


def test_smape_matches_the_competition_definition():
    assert modelling.smape(np.array([0, 0]), np.array([0, 0])) == 0.0
    # 200*|50-100|/(100+50) = 66.67; 200*|0-10|/(10+0) = 200; 0; mean over three days.
    assert modelling.smape(np.array([100, 10, 5]), np.array([50, 0, 5])) == pytest.approx(
        (200 * 50 / 150 + 200 + 0) / 3
    )


def test_accuracy_of_a_known_forecast_and_of_seasonal_naive():
    # A series that repeats every week exactly: seasonal naive is perfect over the holdout.
    week = np.array([10, 12, 14, 16, 18, 30, 40], dtype=float)
    history = np.tile(week, 10)
    actual = np.tile(week, 2)
    naive = modelling.seasonal_naive(y=history, horizon=14)
    assert naive.yhat.tolist() == actual.tolist()
    # A forecast that is 10 % high everywhere, with intervals that hold half the days.
    forecast = modelling.Forecast(
        yhat=actual * 1.1,
        lower_80=actual * np.where(np.arange(14) % 2 == 0, 0.9, 1.05),
        upper_80=actual * 1.2,
        lower_95=actual * 0.5,
        upper_95=actual * 1.5,
    )
    figures = modelling.accuracy_compute(actual=actual, forecast=forecast, naive=naive)
    assert figures["smape"] == pytest.approx(200 * 0.1 / 2.1)
    assert figures["mae"] == pytest.approx(np.mean(actual) * 0.1)
    assert figures["coverage_80"] == pytest.approx(50.0)
    assert figures["coverage_95"] == pytest.approx(100.0)
    assert figures["naive_smape"] == 0.0
    assert figures["naive_mae"] == 0.0
    assert figures["holdout_days"] == 14


def _poisson_series(days: pd.DatetimeIndex, *, level: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weekday = np.array([0.8, 0.95, 0.95, 1.0, 1.1, 1.15, 1.2])[days.day_of_week]
    yearly = 1 + 0.2 * np.sin(2 * np.pi * days.day_of_year / 365.25)
    return rng.poisson(level * weekday * yearly).astype(float)


def test_series_fit_gives_non_negative_intervals_around_the_point():
    days = pd.date_range("2015-01-01", "2017-06-30", freq="D")
    y = _poisson_series(days, level=20)
    calendar = modelling.calendar_fit(days=days, total=_poisson_series(days, level=2000, seed=2))
    fit = modelling.series_fit(y=y, days=days, calendar=calendar, horizon=30)
    assert not fit.fallback, fit.reason
    assert fit.order in modelling.ORDER_GRID
    f = fit.forecast
    assert len(f.yhat) == 30
    assert np.all(f.lower_95 >= 0)
    assert np.all(
        (f.lower_95 <= f.lower_80) & (f.lower_80 <= f.yhat) & (f.yhat <= f.upper_80) & (f.upper_80 <= f.upper_95)
    )
    # The calendar was learnt: Sundays above Mondays, the level near 20 x the weekday effect.
    future = pd.date_range("2017-07-01", periods=30, freq="D")
    assert f.yhat[future.day_of_week == 6].mean() > f.yhat[future.day_of_week == 0].mean()
    assert 10 < f.yhat.mean() < 35


def test_calendar_chooses_yearly_terms_only_with_enough_history():
    days = pd.date_range(date(2015, 1, 1), periods=300, freq="D")
    assert modelling.calendar_fit(days=days, total=_poisson_series(days, level=500)).fourier_k == 0
    days = pd.date_range(date(2014, 1, 1), periods=3 * 365, freq="D")
    assert modelling.calendar_fit(days=days, total=_poisson_series(days, level=500)).fourier_k > 0


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (np.full(400, np.nan), "non-finite"),
        (np.arange(20, dtype=float), "only 20 days"),
        (np.r_[np.full(300, 5.0), np.zeros(400)], "no sales in the last year"),
    ],
)
def test_a_series_that_cannot_be_fitted_falls_back_to_seasonal_naive(values, reason):
    days = pd.date_range("2015-01-01", periods=len(values), freq="D")
    calendar = modelling.Calendar(origin=days[0].date(), coef=tuple([0.0] * 8), fourier_k=0)
    fit = modelling.series_fit(y=values, days=days, calendar=calendar, horizon=14)
    assert fit.fallback
    assert reason in fit.reason
    assert fit.order is None
    assert len(fit.forecast.yhat) == 14
    assert np.all(np.nan_to_num(fit.forecast.lower_95, nan=0) >= 0)


def test_reconcile_moves_the_point_and_keeps_the_relative_width():
    own = modelling.Forecast(
        yhat=np.array([100.0, 200.0]),
        lower_80=np.array([90.0, 180.0]),
        upper_80=np.array([110.0, 220.0]),
        lower_95=np.array([80.0, 160.0]),
        upper_95=np.array([120.0, 240.0]),
    )
    out = modelling.reconcile(own=own, bottom_up_yhat=np.array([110.0, 190.0]))
    assert out.yhat.tolist() == [110.0, 190.0]
    assert out.lower_80.tolist() == pytest.approx([99.0, 171.0])
    assert out.upper_95.tolist() == pytest.approx([132.0, 228.0])
