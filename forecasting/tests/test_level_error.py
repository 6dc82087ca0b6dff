"""The level error of sums over many windows (level_error), on simulated companies whose sales share
level shifts: the total of 100 store-items is smooth, so its error is the shift, not its noise."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecasting.counts import count_interval
from forecasting.level_error import level_variance, level_windows
from forecasting.series_calendar import Design, shape_fit

WEEKDAY = np.array([0.8, 0.95, 0.95, 1.0, 1.1, 1.15, 1.2])
HISTORY, HORIZON, COMPANIES = 3 * 365, 90, 16


def _company(seed: int, days: pd.DatetimeIndex, series: int = 40) -> np.ndarray:
    """Poisson sales of `series` store-items around 50 a day, all moved by one random-walk level
    (about 5 % over 90 days). Returns [series, day]."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0.0, 0.05 / np.sqrt(HORIZON), len(days)))
    base = rng.lognormal(np.log(50), 0.5, series)
    rate = base[:, None] * WEEKDAY[days.day_of_week][None, :] * np.exp(level)[None, :]
    return rng.poisson(rate).astype(float)


def _coverage_of_the_total(seed: int) -> dict[str, np.ndarray]:
    """Which of the HORIZON days after the history the total's 80 % interval holds: the store-items'
    level re-set from the last year and summed, with Poisson intervals (the noise alone) and with
    the level error measured on the history's windows added."""
    days = pd.date_range(date(2020, 1, 6), periods=HISTORY + HORIZON, freq="D")
    sales = _company(seed, days)
    past = days[:HISTORY]
    design = Design(origin=days[0].date(), fourier_k=0)
    shapes = [shape_fit(y=y[:HISTORY], days=past, design=design, prior=None) for y in sales]
    windows = [
        level_windows(y=y[:HISTORY], days=past, design=design, shapes={"calendar": c}, horizon=HORIZON)
        for y, c in zip(sales, shapes, strict=True)
    ]
    projected = np.sum([w["calendar"] for w in windows], axis=0)
    actual = np.sum([w["actual"] for w in windows], axis=0)
    variance = level_variance(projected=projected, actual=actual, phi=0.0, horizon=HORIZON)
    rates = np.array([np.exp(design.features(days) @ c) for c in shapes])
    year = slice(HISTORY - 365, HISTORY)
    level = sales[:, year].sum(axis=1) / rates[:, year].sum(axis=1)
    mean = (level[:, None] * rates[:, HISTORY:]).sum(axis=0)
    total = sales[:, HISTORY:].sum(axis=0)
    inside = {}
    for name, phi in (("noise", 0.0), ("level", variance)):
        lower, upper = count_interval(mean, np.full(HORIZON, phi), content=0.8)
        inside[name] = (total >= lower) & (total <= upper)
    return inside


def test_a_smooth_sums_intervals_cover_at_their_rate_once_its_level_error_is_measured_over_many_windows():
    # One window of one total is one draw of its level error: pooled over many companies' windows,
    # and still only COMPANIES draws, hence the margin.
    figures = [_coverage_of_the_total(seed) for seed in range(COMPANIES)]
    noise, level = (100 * np.mean([f[name] for f in figures]) for name in ("noise", "level"))
    # The noise of a sum this size is a fraction of its level error: Poisson bands alone are far too narrow.
    assert noise < 50, noise
    assert 70 <= level <= 90, level
