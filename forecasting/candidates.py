"""Candidate choice: every candidate forecast of one series, and each level's published model.

Pure numpy/pandas, no Django. Four candidates per series, all on the same backtest holdout:
- its own calendar (`series_calendar`), with a level from the last year and an ARIMA on the rest
  (`residual`);
- the company-wide calendar (the run's total's shape) times the series' level, the same way;
- seasonal naive (same weekday last week) and same day last year (52 weeks back).
`model_choose` picks each level's published model from their backtest SMAPE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from forecasting.counts import COUNT, SIGNED, CountForecast, Forecast, series_kind
from forecasting.pooled_calendar import SCALE_WINDOW_DAYS, step_days
from forecasting.residual import FitError, arima_continuous, arima_count, continuous_forecast
from forecasting.series_calendar import MIN_SERIES_DAYS, Design, holiday_effects, overdispersion

# A series with fewer days since its first sale skips the ARIMA: its calendar alone is forecast.
ARIMA_MIN_DAYS = 56

CANDIDATES = ("calendar", "pooled", "seasonal_naive", "last_year")
NAIVE = ("seasonal_naive", "last_year")
CANDIDATE_NAMES = {
    "calendar": "own calendar (weekday, yearly, trend, holidays), partially pooled, + ARIMA on log1p residual",
    "pooled": "company-wide calendar x scale + ARIMA on log1p residual (the previous model)",
    "seasonal_naive": "seasonal naive (same weekday last week)",
    "last_year": "same day last year (52 weeks back)",
}


@dataclass
class CandidateFit:
    """Every candidate's forecast for one series, what the model learnt, and the series' `kind`
    (counts.series_kind: count, continuous or signed)."""

    forecasts: dict[str, CountForecast]
    order: tuple[int, int, int] | None
    kind: str = COUNT
    fallback: bool = False
    reason: str = ""
    info: dict = field(default_factory=dict)


def _naive_phi(y: np.ndarray, lag: int) -> float:
    if len(y) <= lag + 7:
        return 0.0
    recent = y[-min(len(y), lag + 365) :]
    errors = recent[lag:] - recent[:-lag]
    mean = float(np.mean(recent[lag:]))
    if mean <= 0:
        return 0.0
    return float(np.clip((np.mean(errors**2) / 2 - mean) / max(np.mean(recent[lag:] ** 2), 1e-9), 0.0, 4.0))


def _naive_sd(y: np.ndarray, lag: int) -> float:
    """A continuous series' naive forecast error: the root mean square of its lag-apart differences
    over the last year (each holds two draws' noise, as the naive forecast's error does)."""
    if len(y) <= lag + 7:
        return float(np.std(y)) if len(y) > 1 else 0.0
    recent = y[-min(len(y), lag + 365) :]
    return float(np.sqrt(np.mean((recent[lag:] - recent[:-lag]) ** 2)))


def naive_candidates(*, y: np.ndarray, horizon: int, kind: str = COUNT, step: int = 1) -> dict[str, CountForecast]:
    """Seasonal naive (last week) and same day last year (52 weeks back), with their own spread.
    A week-apart error holds two draws' noise, hence the halving inside _naive_phi. A series that is
    not counts (`kind`) gets a normal spread from the same errors (_naive_sd). `step`: days per
    observation (7: weekly, whose lags are 1 and 52 observations)."""
    y = np.asarray(y, dtype=float)
    out = {}
    for name, lag in (("seasonal_naive", 7 // step or 1), ("last_year", 364 // step)):
        if len(y) >= lag:
            mean = np.array([y[len(y) - lag + (h % lag)] for h in range(horizon)])
        else:
            mean = seasonal_naive(y=y, horizon=horizon).yhat
        step = min(lag, len(y) - 1)
        if kind == COUNT:
            out[name] = CountForecast(mean=mean, phi=np.full(horizon, 2 * _naive_phi(y, step) + 0.01))
        else:
            sd = np.full(horizon, _naive_sd(y, step) + 1e-9)
            out[name] = continuous_forecast(mean=mean, sd=sd, signed=kind == SIGNED)
    return out


def seasonal_naive(*, y: np.ndarray, horizon: int) -> Forecast:
    """Same weekday last week, with intervals from the spread of last-week errors over the recent past."""
    y = np.asarray(y, dtype=float)
    if len(y) < 7:
        last = y[-1] if len(y) else 0.0
        point = np.full(horizon, last)
        errors = np.zeros(1)
    else:
        point = np.array([y[len(y) - 7 + (h % 7)] for h in range(horizon)])
        recent = y[-min(len(y), 7 + 364) :]
        errors = recent[7:] - recent[:-7] if len(recent) > 7 else np.zeros(1)
    # The error of "k weeks back" grows like sqrt(k) for a random-walk-like weekly series.
    steps = np.sqrt(np.arange(horizon) // 7 + 1)
    bands = {}
    for level in (80, 95):
        tail = (100 - level) / 200
        lo, hi = np.quantile(errors, [tail, 1 - tail])
        bands[level] = (np.maximum(point + lo * steps, 0), np.maximum(point + hi * steps, 0))
    point = np.maximum(point, 0)
    return Forecast(
        yhat=point,
        lower_80=np.minimum(bands[80][0], point),
        upper_80=np.maximum(bands[80][1], point),
        lower_95=np.minimum(bands[95][0], point),
        upper_95=np.maximum(bands[95][1], point),
    )


def candidates_fit(
    *,
    y: np.ndarray,
    days: pd.DatetimeIndex,
    design: Design,
    coef: np.ndarray,
    pooled_coef: np.ndarray,
    horizon: int,
    order: tuple[int, int, int] | None = None,
    kind: str | None = None,
) -> CandidateFit:
    """Every candidate for one series: its own calendar (`coef`, from shape_fit) and the pooled one
    (`pooled_coef`, the total's shape), each with a level from the last year and an ARIMA on the
    rest; seasonal naive; same day last year. The own calendar's ARIMA order is chosen unless
    `order` is given, and the pooled one reuses it. `kind` (counts.series_kind; from `y` when None)
    decides between count and normal forecasts. Never raises: a model that cannot be fitted
    is left out, and the reason recorded."""
    y = np.asarray(y, dtype=float)
    kind = kind or series_kind(y)
    step = step_days(days)
    future = pd.date_range(days[-1] + timedelta(days=step), periods=horizon, freq=f"{step}D")
    closed_future = design.closed(future)
    info: dict = {"kind": kind}
    reasons = []
    chosen_order: tuple[int, int, int] | None = None
    if not np.all(np.isfinite(y)):
        reasons.append("history has non-finite values")
        y = np.nan_to_num(y)
        forecasts = naive_candidates(y=y, horizon=horizon, kind=kind, step=step)
    else:
        forecasts = naive_candidates(y=y, horizon=horizon, kind=kind, step=step)
        history = SeriesHistory.of(y=y, days=days, future=future, design=design, kind=kind)
        for name, shape in (("calendar", coef), ("pooled", pooled_coef)):
            try:
                forecast, model, level = calendar_candidate(history=history, shape=shape, order=order)
                if name == "calendar" and model is not None:
                    p, d, q = (int(v) for v in model.order)
                    chosen_order = (p, d, q)
                    order = chosen_order if order is None else order
                    info["aic"] = float(model.aic())
                forecasts[name] = _closures_zeroed(forecast, closed=closed_future)
                if name == "calendar":
                    info["level"] = float(level)
            except Exception as exc:  # one model of one series must not stop the run
                reasons.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    for name in NAIVE:
        _closed_zero(forecasts[name], closed=closed_future)
    info["holidays"], country_holidays = holiday_effects(design=design, coef=coef)
    info["closures"] = list(design.closures)
    if country_holidays:
        info["country_holidays"] = country_holidays
    fallback = "calendar" not in forecasts
    return CandidateFit(
        forecasts=forecasts,
        order=chosen_order,
        kind=kind,
        fallback=fallback,
        reason="; ".join(reasons)[:500],
        info=info,
    )


@dataclass(frozen=True)
class SeriesHistory:
    """What every calendar candidate of one series shares: its history, the day of its first sale,
    the design matrices of its past and future days, and which of them were closures."""

    y: np.ndarray
    live_from: int
    x_past: np.ndarray
    x_future: np.ndarray
    closed_past: np.ndarray
    extra_sigma: float
    kind: str = COUNT
    step: int = 1

    @classmethod
    def of(
        cls, *, y: np.ndarray, days: pd.DatetimeIndex, future: pd.DatetimeIndex, design: Design, kind: str = COUNT
    ) -> SeriesHistory:
        return cls(
            y=y,
            live_from=int(np.argmax(y > 0)) if (y > 0).any() else len(y),
            x_past=design.features(days),
            x_future=design.features(future),
            closed_past=design.closed(days),
            extra_sigma=design.extra_sigma,
            kind=kind,
            step=step_days(days),
        )


def calendar_candidate(
    *, history: SeriesHistory, shape: np.ndarray, order: tuple[int, int, int] | None
) -> tuple[CountForecast, Any, float]:
    """One calendar candidate: `shape`'s log rate, its level re-set as a ratio of sums over the last
    year (closures left out), and an ARIMA on the rest (`order`, or chosen when None). A series
    with fewer than ARIMA_MIN_DAYS since its first sale gets the calendar alone, with the level's
    own uncertainty. Returns (forecast, the ARIMA or None, level); raises FitError."""
    y, live_from = history.y, history.live_from
    live_days = len(y) - live_from
    if live_days < MIN_SERIES_DAYS:
        raise FitError(f"only {live_days} days since the first sale (need {MIN_SERIES_DAYS})")
    log_rate = history.x_past @ shape
    recent = slice(max(live_from, len(y) - SCALE_WINDOW_DAYS // history.step), len(y))
    open_recent = ~history.closed_past[recent]
    level = y[recent][open_recent].sum() / np.exp(log_rate[recent][open_recent]).sum()
    if not (math.isfinite(level) and level > 0):
        raise FitError("no sales in the last year")
    log_rate = log_rate + math.log(level)
    future_log_rate = history.x_future @ shape + math.log(level)
    live = slice(live_from, len(y))
    if history.kind != COUNT:
        return (
            *_continuous_candidate(history=history, log_rate=log_rate, future_log_rate=future_log_rate, order=order),
            level,
        )
    if live_days < ARIMA_MIN_DAYS:
        phi0 = overdispersion(y[live]) + 1.0 / max(y[live].sum(), 1.0)
        phi = np.full(len(future_log_rate), phi0 + history.extra_sigma**2)
        return CountForecast(mean=np.exp(future_log_rate), phi=phi), None, level
    forecast, model = arima_count(
        y=y[live],
        log_rate=log_rate[live],
        future_log_rate=future_log_rate,
        order=order,
        extra_sigma=history.extra_sigma,
        closed=history.closed_past[live],
    )
    return forecast, model, level


def _continuous_candidate(
    *, history: SeriesHistory, log_rate: np.ndarray, future_log_rate: np.ndarray, order: tuple[int, int, int] | None
) -> tuple[CountForecast, Any]:
    """A calendar candidate of a series that is not counts: the calendar's relative error's spread
    alone while the series is young, else an ARIMA on its scaled error (residual.arima_continuous)."""
    y, live = history.y, slice(history.live_from, len(history.y))
    signed = history.kind == SIGNED
    if len(y) - history.live_from < ARIMA_MIN_DAYS:
        open_live = ~history.closed_past[live]
        relative = y[live][open_live] / np.exp(log_rate[live][open_live]) - 1.0
        cv = math.sqrt(float(np.mean(relative**2)) + history.extra_sigma**2)
        mean = np.exp(future_log_rate)
        return continuous_forecast(mean=mean, sd=mean * cv, signed=signed), None
    return arima_continuous(
        y=y[live],
        log_rate=log_rate[live],
        future_log_rate=future_log_rate,
        order=order,
        extra_sigma=history.extra_sigma,
        closed=history.closed_past[live],
        signed=signed,
    )


def _closures_zeroed(forecast: CountForecast, *, closed: np.ndarray) -> CountForecast:
    """The forecast with closures at zero, checked finite (FitError otherwise)."""
    _closed_zero(forecast, closed=closed)
    spread = forecast.phi if forecast.sd is None else forecast.sd
    if not (np.all(np.isfinite(forecast.mean)) and np.all(np.isfinite(spread))):
        raise FitError("non-finite forecast")
    return forecast


def _closed_zero(forecast: CountForecast, *, closed: np.ndarray) -> None:
    """Closures forecast as exactly zero (a continuous forecast's spread too)."""
    forecast.mean = np.where(closed, 0.0, forecast.mean)
    if forecast.sd is not None:
        forecast.sd = np.where(closed, 0.0, forecast.sd)


def model_choose(*, scores: dict[str, dict[str, float]]) -> dict[str, tuple[str, str]]:
    """Each level's published model and why, from every candidate's backtest SMAPE per level.

    The store-items take their best candidate; the other levels are its bottom-up sums (so the
    means add up) unless that loses to a naive candidate on their own backtest, which is then
    published instead: no level is ever published worse than the best naive on its backtest."""

    def listing(level_scores: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.2f}" for name, value in sorted(level_scores.items(), key=lambda kv: kv[1]))

    bottom = scores.get("store_item") or scores.get("total") or {}
    best = min(bottom, key=lambda name: bottom[name]) if bottom else "calendar"
    out = {}
    for level, level_scores in scores.items():
        naive = min(NAIVE, key=lambda n: level_scores[n])
        if level == "store_item" or level_scores[best] <= level_scores[naive]:
            if level == "store_item":
                reason = f"best backtest SMAPE of the store-items: {listing(level_scores)}"
            else:
                reason = (
                    f"the store-items' model, summed (levels add up): SMAPE {level_scores[best]:.2f}, "
                    f"best naive {naive} {level_scores[naive]:.2f}"
                )
            out[level] = (best, reason)
        else:
            reason = (
                f"the store-items' model ({best}) summed scored {level_scores[best]:.2f} here, worse than "
                f"{naive} {level_scores[naive]:.2f}: {naive} is published (this level's mean is not the sum of the store-items')"
            )
            out[level] = (naive, reason)
    return out
