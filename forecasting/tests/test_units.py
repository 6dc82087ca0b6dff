"""Series whose values are not counts: dollars, kilograms, and net units with returns (below zero)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from forecasting import selectors, services
from forecasting.candidates import candidates_fit
from forecasting.counts import CONTINUOUS, COUNT, SIGNED, count_bands, series_kind
from forecasting.models import ForecastPoint, Level, SeriesForecast
from forecasting.selectors import SeriesKey
from forecasting.series_calendar import design_fit, shape_fit

DAYS = pd.date_range("2014-01-01", "2016-12-31", freq="D")
WEEKDAY = np.array([0.8, 0.95, 0.95, 1.0, 1.1, 1.15, 1.2])
HOLDOUT = 90


def _rate(days: pd.DatetimeIndex, level: float) -> np.ndarray:
    yearly = 1 + 0.2 * np.sin(2 * np.pi * np.asarray(days.day_of_year) / 365.25)
    return level * WEEKDAY[np.asarray(days.day_of_week)] * yearly


def _calendar_fit(y: np.ndarray, *, cut: int, designs: dict):
    """The calendar candidate of `y` fitted on all but its last `cut` days, forecasting HOLDOUT days."""
    days = DAYS[: len(DAYS) - cut]
    if cut not in designs:
        total = np.random.default_rng(1).poisson(_rate(DAYS, 3000)).astype(float)
        designs[cut] = design_fit(days=days, total=total[: len(days)])
    design, total_coef = designs[cut]
    part = y[: len(days)]
    coef = shape_fit(y=part, days=days, design=design, prior=total_coef)
    return candidates_fit(y=part, days=days, design=design, coef=coef, pooled_coef=total_coef, horizon=HOLDOUT)


def test_a_history_is_counts_only_when_every_value_is_whole_and_not_negative():
    assert series_kind(np.array([0.0, 3.0, 12.0])) == COUNT
    assert series_kind(np.array([0.0, 3.5, 12.0])) == CONTINUOUS
    assert series_kind(np.array([4.0, -1.0, 12.0])) == SIGNED
    assert series_kind(np.array([4.25, -1.5])) == SIGNED


def test_a_dollar_series_covers_at_its_nominal_rate():
    # Takings of about 500 dollars a day with multiplicative noise (lognormal, 25 %), in cents: no count
    # model applies. Four series, each backtested on three 90-day windows.
    designs: dict = {}
    inside = {80: [], 95: []}
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        y = np.round(_rate(DAYS, 500) * rng.lognormal(-0.03, 0.25, len(DAYS)), 2)
        for cut in (270, 180, 90):
            fit = _calendar_fit(y, cut=cut, designs=designs)
            assert fit.kind == CONTINUOUS and not fit.fallback, fit.reason
            bands = count_bands(fit.forecasts["calendar"])
            actual = y[len(DAYS) - cut : len(DAYS) - cut + HOLDOUT]
            for nominal in (80, 95):
                lower, upper = getattr(bands, f"lower_{nominal}"), getattr(bands, f"upper_{nominal}")
                inside[nominal].append((actual >= lower) & (actual <= upper))
            # Bounds in the series' unit, not rounded to whole dollars.
            assert not np.array_equal(bands.upper_80, np.round(bands.upper_80))
    assert 75 <= 100 * np.concatenate(inside[80]).mean() <= 85
    assert 92 <= 100 * np.concatenate(inside[95]).mean() <= 98


def test_a_series_with_net_returns_fits():
    # About 2 units sold a day, and returns of about 0.8 a day: a day of net returns is below zero.
    designs: dict = {}
    rng = np.random.default_rng(7)
    y = (rng.poisson(_rate(DAYS, 2)) - rng.poisson(0.8, len(DAYS))).astype(float)
    assert (y < 0).sum() > 20
    fit = _calendar_fit(y, cut=HOLDOUT, designs=designs)
    assert fit.kind == SIGNED
    assert not fit.fallback, fit.reason
    forecast = fit.forecasts["calendar"]
    # The mean is the net sales' (about 2 x the weekday x the season, less 0.8).
    actual = y[-HOLDOUT:]
    assert forecast.mean.mean() == pytest.approx(actual.mean(), rel=0.15)
    bands = count_bands(forecast)
    assert (bands.lower_95 < 0).any()  # the series can go negative, so may its bounds
    assert np.all(bands.lower_95 <= bands.lower_80) and np.all(bands.lower_80 <= bands.yhat)
    assert np.all(bands.yhat <= bands.upper_80) and np.all(bands.upper_80 <= bands.upper_95)
    assert 70 <= 100 * np.mean((actual >= bands.lower_80) & (actual <= bands.upper_80)) <= 90


# ---------------------------------------------------------------- a whole refit, in the database


def _history_mapped(monkeypatch, change) -> None:
    """Every series' history as `change(key, y)` makes it: sales stored in another unit (the sales table
    holds whole units until it stores decimals)."""
    real = services.series_history

    def mapped(*, keys, start, end):
        return {key: change(key, y) for key, y in real(keys=keys, start=start, end=end).items()}

    monkeypatch.setattr(services, "series_history", mapped)


def _points(run, key: SeriesKey) -> list[ForecastPoint]:
    series = selectors.forecast_series_get(run=run, key=key)
    assert series is not None, key
    return selectors.forecast_points(series=series)


@pytest.mark.django_db
def test_a_refit_in_dollars_publishes_fractional_bounds_at_or_above_zero(small_history, monkeypatch):
    _history_mapped(monkeypatch, lambda _key, y: np.round(y * 2.49, 2))
    run = services.forecast_refit(days=14)
    assert set(SeriesForecast.objects.filter(run=run).values_list("kind", flat=True)) == {CONTINUOUS}
    points = ForecastPoint.objects.filter(series__run=run)
    assert not points.filter(lower_95__lt=0).exists()
    assert not points.filter(signed=True).exists()
    total = _points(run, SeriesKey(Level.TOTAL))
    assert any(not float(p.upper_80).is_integer() for p in total)
    # Means still add up across levels.
    children = [
        np.array([p.mean for p in _points(run, SeriesKey(Level.STORE_ITEM, s, i))]) for s in (1, 2) for i in (1, 2, 3)
    ]
    assert np.array([p.mean for p in total]) == pytest.approx(sum(children), rel=1e-3)
    assert run.summary["store_item"]["coverage_80"] > 0


@pytest.mark.django_db
def test_a_refit_with_net_returns_may_publish_negative_lower_bounds_and_counts_may_not(small_history, monkeypatch):
    # Every ninth day, a store-item's sales and 3 units more come back: that day's net is -3 (its parents'
    # the sum of their store-items').
    children = {Level.STORE_ITEM: 1, Level.STORE: 3, Level.ITEM: 2, Level.TOTAL: 6}

    def net(key: SeriesKey, y: np.ndarray) -> np.ndarray:
        returns = np.where(np.arange(len(y)) % 9 == 0, y + 3.0 * children[key.level], 0.0)
        return y - returns

    _history_mapped(monkeypatch, net)
    run = services.forecast_refit(days=14)
    series = SeriesForecast.objects.filter(run=run)
    assert set(series.values_list("kind", flat=True)) == {SIGNED}
    assert not series.filter(fallback=True).exists()
    points = ForecastPoint.objects.filter(series__run=run)
    assert points.filter(lower_95__lt=0).exists()
    assert not points.filter(signed=False).exists()
    # The database holds a count series' points at zero or above, and every point's bounds in order.
    point = points.first()
    assert point is not None
    for bad in ({"signed": False, "lower_95": -1.0, "lower_80": -1.0}, {"lower_95": point.lower_80 + 1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ForecastPoint.objects.create(
                series=point.series,
                date=date(2000, 1, 1),
                **({f: getattr(point, f) for f in ("yhat", "mean", "lower_80", "upper_80", "upper_95")} | bad),
            )
    assert timezone.localdate() > run.training_end
