"""The level error of sums, measured over many past windows (pure numpy).

A store's or the total's forecast is the sum of thousands of store-items' forecasts: its daily
noise is small, and its error is dominated by how far the level of the next weeks lands from the
level each series projects (a ratio of sums over the last year, times its calendar). One backtest
window shows that error once. Here it is measured at every LEVEL_WINDOW_STEP-th origin of the
history, as the store-items' projections would have made it then: each store-item records, per
origin, its projected and its actual sales over the horizon, in parts (`level_windows`); the finishing step
sums them into every parent and takes the spread of log(actual / projected) beyond the noise of
the sums (`level_variance`), which widens that parent's intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.pooled_calendar import SCALE_WINDOW_DAYS
from forecasting.series_calendar import MIN_SERIES_DAYS, Design

LEVEL_WINDOW_STEP = 14
# About two years of origins: enough windows to see the level move, few enough to store per series.
LEVEL_WINDOWS_MAX = 52
LEVEL_WINDOWS_MIN = 4
# Each window is scored in parts (its first and second half): a level keeps moving inside a window,
# so the later days miss by more than the window's sum shows.
WINDOW_PARTS = 2


def window_origins(*, days: int, horizon: int) -> np.ndarray:
    """The origins (day indices) of the windows: every LEVEL_WINDOW_STEP days back from the last
    window that ends with the history, each with a year of history before it."""
    last = days - horizon
    if last < SCALE_WINDOW_DAYS:
        return np.zeros(0, dtype=int)
    return np.arange(last, SCALE_WINDOW_DAYS - 1, -LEVEL_WINDOW_STEP)[:LEVEL_WINDOWS_MAX][::-1]


def level_windows(
    *, y: np.ndarray, days: pd.DatetimeIndex, design: Design, shapes: dict[str, np.ndarray], horizon: int
) -> dict[str, list[float]]:
    """Per origin (`window_origins`) and per part of its window (WINDOW_PARTS), the sales of those days
    ("actual") and, per calendar shape, what the level re-set at that origin projected for them: the
    ratio of sales to the calendar's rate over the year before (from the first sale on, closures left
    out), times the rate over those days. 0 where the series had under MIN_SERIES_DAYS of sales
    history then."""
    y = np.asarray(y, dtype=float)
    origins = window_origins(days=len(y), horizon=horizon)
    part = horizon // WINDOW_PARTS
    starts = np.concatenate([origins + k * part for k in range(WINDOW_PARTS)])
    sold = np.concatenate([[0.0], np.cumsum(y)])
    live_from = int(np.argmax(y > 0)) if (y > 0).any() else len(y)
    begin = np.maximum(origins - SCALE_WINDOW_DAYS, live_from)
    known = origins - begin >= MIN_SERIES_DAYS
    open_days = ~design.closed(days)
    out = {"actual": [round(float(v), 2) for v in sold[starts + part] - sold[starts]]}
    for name, shape in shapes.items():
        rate = np.concatenate([[0.0], np.cumsum(np.exp(np.clip(design.features(days) @ shape, -30, 30)) * open_days)])
        past = rate[origins] - rate[begin]
        level = np.divide(sold[origins] - sold[begin], past, out=np.zeros(len(origins)), where=known & (past > 0))
        projected = np.tile(level, WINDOW_PARTS) * (rate[starts + part] - rate[starts])
        out[name] = [round(float(v), 2) for v in projected]
    return out


def level_variance(*, projected: np.ndarray, actual: np.ndarray, phi: float, horizon: int) -> float:
    """The variance (log scale) of a sum's level error: the mean square of log(actual / projected)
    over the windows' parts, less what the noise of sums that size explains (Poisson, 1 / projected,
    and the daily overdispersion `phi` averaged over a part of a `horizon`-day window). 0 with under
    LEVEL_WINDOWS_MIN windows."""
    ok = (projected > 0) & (actual > 0)
    if ok.sum() < LEVEL_WINDOWS_MIN:
        return 0.0
    error = np.log(actual[ok] / projected[ok])
    noise = 1.0 / projected[ok] + phi / max(horizon // WINDOW_PARTS, 1)
    return float(max(np.mean(error**2) - np.mean(noise), 0.0))
