"""Calibration of a level's intervals on its backtest (pure numpy).

The probability content that makes a level's intervals hold their nominal share of its series'
holdout days, found by bisection and trusted by the level's number of series.
"""

from __future__ import annotations

import numpy as np

from forecasting.counts import CountForecast, coverage_of

CONTENT_RANGE = (0.3, 0.9995)
# A series' holdout days share one level error (the whole window a little high or low), so a level's
# backtest holds about one independent look at its intervals per series, not one per day: a level of
# one series (the total) or a few, calibrated on its own backtest alone, would carry that window's luck
# into the next. The content found is
# trusted by n / (n + CALIBRATION_PRIOR_SERIES) for n series, the rest stays nominal.
CALIBRATION_PRIOR_SERIES = 4


# Enough series for the content to be found to within a fraction of a percent; past that, a level's
# backtest (about 30,000 series x 90 days at the largest) is sampled evenly, since every bisection
# step takes the quantiles of every point it holds.
CALIBRATION_MAX_SERIES = 2000


def calibration_content(
    *, actual: np.ndarray, forecast: CountForecast, nominal: int, looks: float | None = None
) -> float:
    """The probability content that makes a level's backtest intervals hold `nominal` percent of its
    series' holdout days (narrower or wider than nominal), by bisection, shrunk toward nominal for a
    level of few series (CALIBRATION_PRIOR_SERIES). Empirical calibration: it corrects a spread the
    model over- or underestimates, and the rounding of low counts. `actual` and the forecast's
    arrays are series x days. `looks`: the independent looks the backtest holds at the intervals
    (default: one per series; fewer where the series share one level error)."""
    actual = np.atleast_2d(actual)
    series = len(actual)
    if not series:
        return nominal / 100
    rows = np.unique(np.linspace(0, series - 1, min(series, CALIBRATION_MAX_SERIES)).round().astype(int))
    sample = forecast.take(rows)
    found = _content_found(actual=actual[rows].ravel(), forecast=sample, nominal=nominal)
    looks = series if looks is None else looks
    trust = looks / (looks + CALIBRATION_PRIOR_SERIES)
    return round(nominal / 100 + trust * (found - nominal / 100), 5)


def _content_found(*, actual: np.ndarray, forecast: CountForecast, nominal: int) -> float:
    def coverage(content: float) -> float:
        return 100 * float(coverage_of(actual=actual, forecast=forecast, content=content).mean())

    low, high = CONTENT_RANGE
    if coverage(low) >= nominal:
        return low
    if coverage(high) < nominal:
        return high
    for _ in range(14):
        middle = (low + high) / 2
        low, high = (middle, high) if coverage(middle) < nominal else (low, middle)
    return round(high, 5)
