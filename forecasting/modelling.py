"""The forecasting model, in plain numpy/pandas/pmdarima (no Django here).

    log1p(sales) = log1p(scale x exp(calendar(t))) + ARIMA residual

- `calendar(t)`: weekday dummies, k yearly Fourier pairs and a linear trend, fitted
  once per run by least squares on log(total daily sales). Pooled: every series
  shares it, so a small store-item borrows the shape estimated from all sales.
  k is chosen from FOURIER_K_GRID on the last 90 days of the history.
- `scale`: the series' share of that curve, a ratio of sums over its last year
  (ratios of sums add up, so store-item scales sum exactly to store/item/total):
  this is the multiplicative store x item structure.
- a small pmdarima ARIMA(p,0,q) with intercept on what remains (in log1p space),
  fitted on the last ARIMA_WINDOW_DAYS; its order comes from a small AIC grid,
  searched stepwise, on a schedule (callers pass the previous order while fresh).
- point = the mean of the back-transformed forecast (smearing estimate), so that
  store-items add up to their totals; intervals: ARIMA standard errors widened to
  the empirical quantiles of the one-step residuals (Poisson noise is skewed in
  log space) plus the calendar's own validation error; transformed back, >= 0.

Every fit is checked (optimizer converged, finite parameters and forecasts); a
series whose fit fails falls back to seasonal naive (same weekday last week) and
says why.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

FOURIER_PERIOD = 365.25
FOURIER_K = 4
FOURIER_K_GRID = (0, 2, 4, 6, 8, 10, 12, 15)
MIN_YEARLY_DAYS = 400
VALIDATION_DAYS = 90
ARIMA_WINDOW_DAYS = 365
SCALE_WINDOW_DAYS = 365
ORDER_GRID: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (1, 0, 0), (0, 0, 1), (1, 0, 1), (2, 0, 0))
POINT_IS_MEAN = True
LEVELS = ("total", "store", "item", "store_item")
# Standard normal quantiles for the two-sided 80 % and 95 % intervals.
Z = {80: 1.2815515655446004, 95: 1.959963984540054}


class FitError(Exception):
    """A fit that did not produce a usable model (not converged, non-finite, ...)."""


# ---------------------------------------------------------------- calendar (pooled)


@dataclass(frozen=True)
class Calendar:
    """log(level) as a function of the date: weekday + yearly Fourier + linear trend.

    `extra_sigma`: the calendar's own out-of-sample error (log scale) beyond its
    in-sample residual, measured on a validation window of the total; it is
    shared by every series and added to every interval."""

    origin: date
    coef: tuple[float, ...]
    fourier_k: int = FOURIER_K
    extra_sigma: float = 0.0

    def features(self, days: pd.DatetimeIndex) -> np.ndarray:
        return calendar_features(days, origin=self.origin, fourier_k=self.fourier_k)

    def log_level(self, days: pd.DatetimeIndex) -> np.ndarray:
        return self.features(days) @ np.asarray(self.coef)

    def as_dict(self) -> dict:
        return {
            "origin": self.origin.isoformat(),
            "coef": list(self.coef),
            "fourier_k": self.fourier_k,
            "extra_sigma": self.extra_sigma,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calendar:
        return cls(
            origin=date.fromisoformat(data["origin"]),
            coef=tuple(data["coef"]),
            fourier_k=data["fourier_k"],
            extra_sigma=data.get("extra_sigma", 0.0),
        )

    def exogenous(self) -> list[str]:
        terms = ["weekday"]
        if self.fourier_k:
            terms.append(f"fourier({FOURIER_PERIOD}, k={self.fourier_k})")
        return [*terms, "trend", "scale(store x item)"]


def calendar_features(days: pd.DatetimeIndex, *, origin: date, fourier_k: int) -> np.ndarray:
    """Design matrix: intercept, 6 weekday dummies (Monday is the base), 2k Fourier terms, trend in years."""
    t = (days - pd.Timestamp(origin)).days.to_numpy(dtype=float)
    weekday = days.day_of_week.to_numpy()
    columns = [np.ones_like(t)]
    columns += [(weekday == d).astype(float) for d in range(1, 7)]
    for k in range(1, fourier_k + 1):
        angle = 2 * math.pi * k * t / FOURIER_PERIOD
        columns += [np.sin(angle), np.cos(angle)]
    columns.append(t / 365.25)
    return np.column_stack(columns)


def _calendar_lstsq(days: pd.DatetimeIndex, log_total: np.ndarray, *, origin: date, fourier_k: int) -> np.ndarray:
    x = calendar_features(days, origin=origin, fourier_k=fourier_k)
    coef, *_ = np.linalg.lstsq(x, log_total, rcond=None)
    return coef


def calendar_fit(*, days: pd.DatetimeIndex, total: np.ndarray, fourier_k: int | None = None) -> Calendar:
    """Least squares of log(total) on the calendar design (days without sales left out).

    `fourier_k=None` chooses the number of yearly harmonics on the last
    VALIDATION_DAYS of the history (fit before, score after); histories shorter
    than MIN_YEARLY_DAYS get no yearly terms, since one cycle cannot be told from a trend."""
    origin = days[0].date()
    total = np.asarray(total, dtype=float)
    keep = total > 0
    days_kept, log_total = days[keep], np.log(total[keep])
    flat = Calendar(
        origin=origin, coef=tuple([0.0] * calendar_features(days[:1], origin=origin, fourier_k=0).shape[1]), fourier_k=0
    )
    if keep.sum() < 28:
        return flat  # too little history for weekday effects: scale only
    extra_sigma = 0.0
    if fourier_k is None:
        fourier_k = 0
        if len(days) >= MIN_YEARLY_DAYS + VALIDATION_DAYS:
            cut = days[-VALIDATION_DAYS]
            fit_part, val_part = days_kept < cut, days_kept >= cut
            scores = {}
            for k in FOURIER_K_GRID:
                coef = _calendar_lstsq(days_kept[fit_part], log_total[fit_part], origin=origin, fourier_k=k)
                x_fit = calendar_features(days_kept[fit_part], origin=origin, fourier_k=k)
                x_val = calendar_features(days_kept[val_part], origin=origin, fourier_k=k)
                in_sample = (log_total[fit_part] - x_fit @ coef)[-SCALE_WINDOW_DAYS:]
                # Score as series_fit uses it: the level re-set from the last year, the shape extrapolated.
                error = log_total[val_part] - x_val @ coef - in_sample.mean()
                scores[k] = (float(np.sqrt(np.mean(error**2))), float(in_sample.std()))
            fourier_k = min(scores, key=lambda k: scores[k][0])
            rmse, in_sd = scores[fourier_k]
            extra_sigma = math.sqrt(max(rmse**2 - in_sd**2, 0.0))
    coef = _calendar_lstsq(days_kept, log_total, origin=origin, fourier_k=fourier_k)
    if not np.all(np.isfinite(coef)):
        return flat
    return Calendar(origin=origin, coef=tuple(float(c) for c in coef), fourier_k=fourier_k, extra_sigma=extra_sigma)


# ---------------------------------------------------------------- one series


@dataclass
class Forecast:
    """A forecast of `len(yhat)` days; every array is on the sales scale, never negative."""

    yhat: np.ndarray
    lower_80: np.ndarray
    upper_80: np.ndarray
    lower_95: np.ndarray
    upper_95: np.ndarray

    def as_dict(self) -> dict[str, list[float]]:
        return {name: [round(float(v), 4) for v in getattr(self, name)] for name in POINT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> Forecast:
        return cls(**{name: np.asarray(data[name], dtype=float) for name in POINT_FIELDS})


POINT_FIELDS = ("yhat", "lower_80", "upper_80", "lower_95", "upper_95")


@dataclass
class SeriesFit:
    forecast: Forecast
    order: tuple[int, int, int] | None
    fallback: bool
    reason: str = ""
    info: dict = field(default_factory=dict)


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


def _converged(model) -> bool:
    retvals = model.arima_res_.mle_retvals or {}
    if retvals.get("converged", True):
        return True
    # L-BFGS-B's "abnormal termination in line search" (warnflag 2) with a near-zero
    # gradient of the per-observation log-likelihood is a converged fit that could not
    # improve on its start values; anything else is not.
    gradient = np.asarray(retvals.get("gopt", [np.inf]), dtype=float)
    return retvals.get("warnflag") == 2 and bool(np.all(np.isfinite(gradient))) and float(np.abs(gradient).max()) < 2e-3


def _arima_fit(residual: np.ndarray, order: tuple[int, int, int]):
    from pmdarima.arima import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(order=order, with_intercept=True, method="lbfgs", maxiter=200, suppress_warnings=True)
        model.fit(residual)
    if not _converged(model):
        # Polish from where L-BFGS stopped with Nelder-Mead before calling it a failure.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            retry = ARIMA(order=order, with_intercept=True, method="nm", maxiter=1000, suppress_warnings=True,
                          start_params=np.asarray(model.params()))  # fmt: skip
            retry.fit(residual)
        if not _converged(retry):
            raise FitError(f"ARIMA{order} did not converge")
        model = retry
    params = np.asarray(model.params())
    if not np.all(np.isfinite(params)) or not math.isfinite(model.aic()):
        raise FitError(f"ARIMA{order} has non-finite parameters")
    return model


def series_fit(
    *,
    y: np.ndarray,
    days: pd.DatetimeIndex,
    calendar: Calendar,
    horizon: int,
    order: tuple[int, int, int] | None = None,
) -> SeriesFit:
    """Fit one series (daily sales on consecutive `days`) and forecast `horizon` days after the last one.

    `order`: reuse this ARIMA order; None chooses one from ORDER_GRID by AIC. Never
    raises for a bad series: it falls back to seasonal naive and says why."""
    y = np.asarray(y, dtype=float)
    try:
        return _series_fit_arima(y=y, days=days, calendar=calendar, horizon=horizon, order=order)
    except Exception as exc:  # any failure of one series must not stop the run
        return SeriesFit(
            forecast=seasonal_naive(y=y, horizon=horizon),
            order=None,
            fallback=True,
            reason=f"{type(exc).__name__}: {exc}"[:500],
        )


def _order_select(residual: np.ndarray):
    """The lowest-AIC model of ORDER_GRID, searched stepwise: white noise and the two
    first-order models first; the second-order ones only if a first-order one helped
    (most residuals of a good calendar fit are white noise, so most series stop at 3 fits)."""
    fitted, errors = {}, []

    def attempt(candidate):
        try:
            fitted[candidate] = _arima_fit(residual, candidate)
        except Exception as exc:
            errors.append(str(exc))

    first, second = ORDER_GRID[:3], ORDER_GRID[3:]
    for candidate in first:
        attempt(candidate)
    best = min(fitted, key=lambda o: fitted[o].aic(), default=None)
    if best is None or best != (0, 0, 0):
        for candidate in second:
            attempt(candidate)
    if not fitted:
        raise FitError("no order in the grid fitted: " + "; ".join(errors)[:300])
    return fitted[min(fitted, key=lambda o: fitted[o].aic())]


def _series_fit_arima(
    *, y: np.ndarray, days: pd.DatetimeIndex, calendar: Calendar, horizon: int, order: tuple[int, int, int] | None
) -> SeriesFit:
    if len(y) != len(days):
        raise FitError(f"{len(y)} values for {len(days)} days")
    if len(y) < 56:
        raise FitError(f"only {len(y)} days of history (need 56)")
    if not np.all(np.isfinite(y)) or (y < 0).any():
        raise FitError("history has negative or non-finite values")
    log_calendar = calendar.log_level(days)
    recent = slice(max(0, len(y) - SCALE_WINDOW_DAYS), len(y))
    denominator = np.exp(log_calendar[recent]).sum()
    scale = y[recent].sum() / denominator
    if not (math.isfinite(scale) and scale > 0):
        raise FitError("no sales in the last year")
    base = scale * np.exp(log_calendar)
    residual = np.log1p(y) - np.log1p(base)
    window = residual[-ARIMA_WINDOW_DAYS:]

    model = _order_select(window) if order is None else _arima_fit(window, tuple(order))
    chosen = tuple(int(v) for v in model.order)

    future = pd.date_range(days[-1] + timedelta(days=1), periods=horizon, freq="D")
    future_base = scale * np.exp(calendar.log_level(future))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, conf = model.predict(n_periods=horizon, return_conf_int=True, alpha=0.05)
    mean = np.asarray(mean, dtype=float)
    se = (np.asarray(conf, dtype=float)[:, 1] - mean) / Z[95]
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(se))):
        raise FitError("non-finite forecast")
    innovations = np.asarray(model.resid(), dtype=float)[7:]  # the first few carry start-up error
    sigma1 = float(np.std(innovations)) or 1e-9
    ratio = se / sigma1  # how much wider than one step ahead each horizon is
    log_point = np.log1p(future_base) + mean
    bands = {}
    for level in (80, 95):
        tail = (100 - level) / 200
        lo_q, hi_q = np.quantile(innovations, [tail, 1 - tail])
        # Never narrower than the Gaussian band: the quantiles only widen the skewed side.
        shared = Z[level] * calendar.extra_sigma
        lo = -np.hypot(np.maximum(-lo_q, Z[level] * sigma1) * ratio, shared)
        hi = np.hypot(np.maximum(hi_q, Z[level] * sigma1) * ratio, shared)
        bands[level] = (log_point + lo, log_point + hi)
    # The point is the mean, not the median, of the back-transformed forecast (smearing
    # estimate of E[exp(error)]): medians of the store-items would not add up to their totals.
    smearing = float(np.mean(np.exp(innovations))) if POINT_IS_MEAN else 1.0
    point = np.maximum((1 + future_base) * np.exp(mean) * smearing - 1, 0)
    forecast = Forecast(
        yhat=point,
        lower_80=np.clip(np.expm1(bands[80][0]), 0, point),
        upper_80=np.maximum(np.expm1(bands[80][1]), point),
        lower_95=np.clip(np.expm1(bands[95][0]), 0, point),
        upper_95=np.maximum(np.expm1(bands[95][1]), point),
    )
    for name in POINT_FIELDS:
        if not np.all(np.isfinite(getattr(forecast, name))):
            raise FitError(f"non-finite {name}")
    info = {
        "scale": float(scale),
        "aic": float(model.aic()),
        "sigma": sigma1,
        "params": [float(p) for p in model.params()],
    }
    return SeriesFit(forecast=forecast, order=chosen, fallback=False, info=info)


# ---------------------------------------------------------------- accuracy


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """SMAPE as in the store-item demand competition: mean of 200|F-A|/(|A|+|F|), a term is 0 when both are 0."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.divide(
        200 * np.abs(forecast - actual), denominator, out=np.zeros_like(denominator), where=denominator != 0
    )
    return float(terms.mean()) if len(terms) else math.nan


def accuracy_compute(*, actual: np.ndarray, forecast: Forecast, naive: Forecast) -> dict:
    """SMAPE, MAE and interval coverage (percent of actuals inside) of a forecast and of seasonal naive."""
    actual = np.asarray(actual, dtype=float)

    def coverage(lower, upper) -> float:
        return float(100 * np.mean((actual >= lower) & (actual <= upper)))

    return {
        "smape": smape(actual, forecast.yhat),
        "mae": float(np.mean(np.abs(actual - forecast.yhat))),
        "coverage_80": coverage(forecast.lower_80, forecast.upper_80),
        "coverage_95": coverage(forecast.lower_95, forecast.upper_95),
        "naive_smape": smape(actual, naive.yhat),
        "naive_mae": float(np.mean(np.abs(actual - naive.yhat))),
        "naive_coverage_80": coverage(naive.lower_80, naive.upper_80),
        "naive_coverage_95": coverage(naive.lower_95, naive.upper_95),
        "holdout_days": len(actual),
    }


# ---------------------------------------------------------------- reconciliation


def reconcile(*, own: Forecast, bottom_up_yhat: np.ndarray) -> Forecast:
    """Bottom-up point forecast with this level's own interval shape.

    The point becomes the sum of the store-item points (so the levels add up); the
    interval keeps the relative width this level's own model gave it, which is
    right for its own noise (narrower in relative terms than the sum of the
    children's intervals would suggest)."""
    yhat = np.maximum(np.asarray(bottom_up_yhat, dtype=float), 0)
    base = np.where(own.yhat > 0, own.yhat, 1.0)

    def rescale(values: np.ndarray) -> np.ndarray:
        return np.where(own.yhat > 0, values / base * yhat, values - own.yhat + yhat)

    return Forecast(
        yhat=yhat,
        lower_80=np.clip(rescale(own.lower_80), 0, yhat),
        upper_80=np.maximum(rescale(own.upper_80), yhat),
        lower_95=np.clip(rescale(own.lower_95), 0, yhat),
        upper_95=np.maximum(rescale(own.upper_95), yhat),
    )
