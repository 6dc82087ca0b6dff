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


def calibration_content(*, actual: list[np.ndarray], forecasts: list[CountForecast], nominal: int) -> float:
    """The probability content that makes a level's backtest intervals hold `nominal` percent of its
    series' holdout days (narrower or wider than nominal), by bisection, shrunk toward nominal for a
    level of few series (CALIBRATION_PRIOR_SERIES). Empirical calibration: it corrects a spread the
    model over- or underestimates, and the rounding of low counts."""
    if not actual:
        return nominal / 100
    found = _content_found(actual=actual, forecasts=forecasts, nominal=nominal)
    trust = len(actual) / (len(actual) + CALIBRATION_PRIOR_SERIES)
    return round(nominal / 100 + trust * (found - nominal / 100), 5)


def _content_found(*, actual: list[np.ndarray], forecasts: list[CountForecast], nominal: int) -> float:
    actual_all = np.concatenate(actual)
    joined = CountForecast(
        mean=np.concatenate([f.mean for f in forecasts]), phi=np.concatenate([f.phi for f in forecasts])
    )

    def coverage(content: float) -> float:
        return 100 * float(coverage_of(actual=actual_all, forecast=joined, content=content).mean())

    low, high = CONTENT_RANGE
    if coverage(low) >= nominal:
        return low
    if coverage(high) < nominal:
        return high
    for _ in range(14):
        middle = (low + high) / 2
        low, high = (middle, high) if coverage(middle) < nominal else (low, middle)
    return round(high, 5)
