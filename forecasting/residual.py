"""The residual model: a small ARIMA(p,0,q) with intercept on log1p(sales) - log1p(calendar).

Pure numpy/pmdarima, no Django. `arima_count` fits it over the last ARIMA_WINDOW_DAYS and turns
its forecast into a count forecast: the mean back-transformed with a smearing estimate, the spread
as negative-binomial overdispersion growing with the ARIMA's own horizon variance. The order comes
from a small AIC grid searched stepwise (`order_select`), or is the one a caller passes while it is
fresh. White noise, the usual residual of a good calendar, is fitted in closed form (`WhiteNoise`).
Every fit is checked (optimizer converged, finite parameters and forecasts); one that is not
raises FitError, and the caller leaves that candidate out.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from forecasting.counts import CountForecast

ARIMA_WINDOW_DAYS = 365


ORDER_GRID: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (1, 0, 0), (0, 0, 1), (1, 0, 1), (2, 0, 0))


# Standard normal quantiles for the two-sided 80 % and 95 % intervals.
Z = {80: 1.2815515655446004, 95: 1.959963984540054}


class FitError(Exception):
    """A fit that did not produce a usable model (not converged, non-finite, ...)."""


def _converged(model) -> bool:
    retvals = model.arima_res_.mle_retvals or {}
    if retvals.get("converged", True):
        return True
    # L-BFGS-B's "abnormal termination in line search" (warnflag 2) with a near-zero
    # gradient of the per-observation log-likelihood is a converged fit that could not
    # improve on its start values; anything else is not.
    gradient = np.asarray(retvals.get("gopt", [np.inf]), dtype=float)
    return retvals.get("warnflag") == 2 and bool(np.all(np.isfinite(gradient))) and float(np.abs(gradient).max()) < 2e-3


class WhiteNoise:
    """ARIMA(0,0,0) with intercept in closed form: its maximum likelihood estimates are the sample
    mean and variance, so the numerical optimizer (a Kalman filter per step, most of a refit's time)
    has nothing to find. It answers what the forecast asks of a pmdarima model, with the same values
    (statsmodels' forecast variance of white noise is sigma2, without parameter uncertainty)."""

    order = (0, 0, 0)

    def __init__(self, y: np.ndarray) -> None:
        self.y = np.asarray(y, dtype=float)
        self.mean = float(self.y.mean())
        self.sigma2 = float(np.mean((self.y - self.mean) ** 2)) or 1e-12

    def params(self) -> np.ndarray:
        return np.array([self.mean, self.sigma2])

    def resid(self) -> np.ndarray:
        return self.y - self.mean

    def aic(self) -> float:
        n = len(self.y)
        loglike = -0.5 * n * (math.log(2 * math.pi * self.sigma2) + 1)
        return -2 * loglike + 2 * 2  # intercept and variance

    def predict(self, *, n_periods: int, return_conf_int: bool = False, alpha: float = 0.05):
        from scipy import stats

        mean = np.full(n_periods, self.mean)
        if not return_conf_int:
            return mean
        half = stats.norm.ppf(1 - alpha / 2) * math.sqrt(self.sigma2)
        return mean, np.column_stack([mean - half, mean + half])


def arima_fit(residual: np.ndarray, order: tuple[int, int, int]):
    if tuple(order) == (0, 0, 0):
        return WhiteNoise(residual)
    from pmdarima.arima import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(order=order, with_intercept=True, method="lbfgs", maxiter=200, suppress_warnings=True)
        model.fit(residual)
    if not _converged(model):
        # Polish from where L-BFGS stopped with Nelder-Mead before calling it a failure.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = np.asarray(model.params())
            retry = ARIMA(
                order=order, with_intercept=True, method="nm", maxiter=1000, suppress_warnings=True, start_params=start
            )
            retry.fit(residual)
        if not _converged(retry):
            raise FitError(f"ARIMA{order} did not converge")
        model = retry
    params = np.asarray(model.params())
    if not np.all(np.isfinite(params)) or not math.isfinite(model.aic()):
        raise FitError(f"ARIMA{order} has non-finite parameters")
    return model


def white_noise_clear(residual: np.ndarray) -> bool:
    """Whether no first-order model could beat white noise on AIC, so none is fitted. AR(1) or MA(1)
    gains about n r1^2 / 2 log-likelihood over white noise (r1: the lag-1 autocorrelation), and
    wins on AIC past n r1^2 > 2 (its extra parameter); below half that, with room for the sample
    estimate, it cannot. Most residuals of a good calendar fit are that clean."""
    centred = np.asarray(residual, dtype=float) - np.mean(residual)
    spread = float(centred @ centred)
    if spread <= 0:
        return True
    r1 = float(centred[1:] @ centred[:-1]) / spread
    return len(centred) * r1**2 < 1.0


def order_select(residual: np.ndarray):
    """The lowest-AIC model of ORDER_GRID, searched stepwise: white noise alone when no first-order
    model could beat it (`white_noise_clear`: most residuals of a good calendar fit), else white
    noise and the two first-order models, then the second-order ones only if a first-order one helped."""
    fitted, errors = {}, []

    def attempt(candidate):
        try:
            fitted[candidate] = arima_fit(residual, candidate)
        except Exception as exc:
            errors.append(str(exc))

    if white_noise_clear(residual):
        return arima_fit(residual, (0, 0, 0))
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


def arima_count(
    *,
    y: np.ndarray,
    log_rate: np.ndarray,
    future_log_rate: np.ndarray,
    order,
    extra_sigma: float,
    closed: np.ndarray | None = None,
) -> tuple[CountForecast, object]:
    """ARIMA on log1p(y) - log1p(rate) over the last ARIMA_WINDOW_DAYS; the mean forecast
    back-transformed with a smearing estimate, the spread as NB overdispersion growing with the
    ARIMA's own horizon variance. `closed`: the days of y that were closures (forecast as zero on
    their own), left out of the residual and of the spread."""
    rate = np.exp(log_rate)
    residual = np.log1p(y) - np.log1p(rate)
    open_days = np.ones(len(y), dtype=bool) if closed is None else ~np.asarray(closed, dtype=bool)
    # A closure is a residual of -log1p(rate): at a store's or the total's counts, one such day a year
    # would outweigh every other day's error in the spread.
    residual = np.where(open_days, residual, 0.0)
    window = residual[-ARIMA_WINDOW_DAYS:]
    model = order_select(window) if order is None else arima_fit(window, tuple(order))
    horizon = len(future_log_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, conf = model.predict(n_periods=horizon, return_conf_int=True, alpha=0.05)
    mean = np.asarray(mean, dtype=float)
    se = (np.asarray(conf, dtype=float)[:, 1] - mean) / Z[95]
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(se))):
        raise FitError("non-finite forecast")
    innovations = np.asarray(model.resid(), dtype=float)[7:]
    sigma1 = float(np.std(innovations)) or 1e-9
    ratio = se / sigma1
    smearing = float(np.mean(np.exp(innovations)))
    future_rate = np.exp(future_log_rate)
    point = np.maximum((1 + future_rate) * np.exp(mean) * smearing - 1, 0)
    fitted = (1 + rate[-len(window) :]) * np.exp(window - np.asarray(model.resid())) * smearing - 1
    fitted = np.maximum(fitted, 1e-9)
    observed = y[-len(window) :]
    counted = open_days[-len(window) :]
    observed, fitted = observed[counted], fitted[counted]
    phi_in = float(np.clip(np.sum((observed - fitted) ** 2 - fitted) / np.sum(fitted**2), 0.0, 4.0))
    phi = phi_in * ratio**2 + extra_sigma**2
    return CountForecast(mean=point, phi=phi), model


# A continuous series' daily spread grows as rate ** CONTINUOUS_SPREAD_POWER: as a count's Poisson noise
# does (0.5), not in proportion to the rate (1), which measured too narrow where the rate falls below the
# backtest window's (takings of counted units; README, "Units that are not counts"). The form holds in
# any unit: a price or a kilogram rescales the constant, which the ARIMA's variance carries.
CONTINUOUS_SPREAD_POWER = 0.5


def arima_continuous(
    *,
    y: np.ndarray,
    log_rate: np.ndarray,
    future_log_rate: np.ndarray,
    order,
    extra_sigma: float,
    closed: np.ndarray | None = None,
    signed: bool = False,
) -> tuple[CountForecast, object]:
    """The continuous counterpart of `arima_count`, for dollars, kilograms or net units: ARIMA on the
    scaled residual (y - rate) / rate ** CONTINUOUS_SPREAD_POWER over the last ARIMA_WINDOW_DAYS
    (defined for values at or below zero, where log1p is not), and a normal forecast: mean rate +
    scale x the ARIMA's mean, standard deviation scale x the ARIMA's horizon standard error (with the
    calendar's own error, `extra_sigma`, times the rate, in quadrature). `signed`: the series may go
    below zero (its mean is not floored at zero)."""
    rate = np.exp(log_rate)
    open_days = np.ones(len(y), dtype=bool) if closed is None else ~np.asarray(closed, dtype=bool)
    scale = np.maximum(rate, 1e-9) ** CONTINUOUS_SPREAD_POWER
    residual = np.where(open_days, (np.asarray(y, dtype=float) - rate) / scale, 0.0)
    window = residual[-ARIMA_WINDOW_DAYS:]
    model = order_select(window) if order is None else arima_fit(window, tuple(order))
    horizon = len(future_log_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, conf = model.predict(n_periods=horizon, return_conf_int=True, alpha=0.05)
    mean = np.asarray(mean, dtype=float)
    se = (np.asarray(conf, dtype=float)[:, 1] - mean) / Z[95]
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(se))):
        raise FitError("non-finite forecast")
    future_rate = np.exp(future_log_rate)
    future_scale = future_rate**CONTINUOUS_SPREAD_POWER
    point = future_rate + future_scale * mean
    if not signed:
        point = np.maximum(point, 0.0)
    sd = np.sqrt((future_scale * se) ** 2 + (future_rate * extra_sigma) ** 2)
    return continuous_forecast(mean=point, sd=sd, signed=signed), model


def continuous_forecast(*, mean: np.ndarray, sd: np.ndarray, signed: bool) -> CountForecast:
    """A normal forecast, with phi its squared coefficient of variation (see CountForecast)."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    phi = (sd / np.maximum(np.abs(mean), 1e-9)) ** 2
    return CountForecast(mean=mean, phi=phi, sd=sd, signed=np.full(mean.shape, signed))
