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

import functools
import math
import warnings
from dataclasses import dataclass, field, replace
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
    shared by every series and added to every interval. The shape's error only:
    a level the validation window reached (products launched, a store opened) is
    re-set from the last year and followed by each series' ARIMA, whose horizon
    variance already carries the level's uncertainty."""

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
                scores[k] = (float(np.sqrt(np.mean(error**2))), float(error.std()), float(in_sample.std()))
            fourier_k = min(scores, key=lambda k: scores[k][0])
            _rmse, error_sd, in_sd = scores[fourier_k]
            # The spread of the error, not its mean: on slow movers with launches in the last 500 days the
            # total ended the window 9 to 15 % above the level re-set from the year before, and counting
            # that bias made every interval of a busy series (a store, the total) two to three times as
            # wide as its Poisson noise (the total covered 100 % of the next 90 days where 80 % was asked).
            extra_sigma = math.sqrt(max(error_sd**2 - in_sd**2, 0.0))
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


def _arima_fit(residual: np.ndarray, order: tuple[int, int, int]):
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


def _white_noise_clear(residual: np.ndarray) -> bool:
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


def _order_select(residual: np.ndarray):
    """The lowest-AIC model of ORDER_GRID, searched stepwise: white noise alone when no first-order
    model could beat it (`_white_noise_clear`: most residuals of a good calendar fit), else white
    noise and the two first-order models, then the second-order ones only if a first-order one helped."""
    fitted, errors = {}, []

    def attempt(candidate):
        try:
            fitted[candidate] = _arima_fit(residual, candidate)
        except Exception as exc:
            errors.append(str(exc))

    if _white_noise_clear(residual):
        return _arima_fit(residual, (0, 0, 0))
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


# ================================================================ per-series calendars (issue 8)
#
# Each series gets its own calendar: log(rate) = intercept + weekday + yearly Fourier + trend +
# fixed-date holiday effects, fitted by penalized Poisson regression (a few IRLS steps) that
# shrinks every coefficient toward a prior shape: the total's for a store or an item, store +
# item - total for a store-item. The data's weight is its Fisher information (rate x days,
# divided by the overdispersion), so a long dense series uses its own shape and a short or
# sparse one borrows its peers'. The level is then set from the last year (ratio of sums),
# and a pmdarima ARIMA models what is left in log1p space, as before.

# Prior spread (log scale) of a series' coefficient around its prior: weekday effects, the
# k-th yearly harmonic (smoother shapes are likelier: tau / k), trend per year, a holiday.
TAU_WEEKDAY = 0.15
TAU_FOURIER = 0.2
TAU_TREND = 0.1
TAU_HOLIDAY = 0.5
HOLIDAY_MAX = 20
# A run's country holidays reach this far past the history: any horizon (FORECAST_DAYS <= 365) fits.
COUNTRY_HOLIDAYS_AHEAD_DAYS = 400
MIN_SERIES_FOURIER_K = 4
IRLS_STEPS = 4
MIN_SERIES_DAYS = 14
CANDIDATES = ("calendar", "pooled", "seasonal_naive", "last_year")
CANDIDATE_NAMES = {
    "calendar": "own calendar (weekday, yearly, trend, holidays), partially pooled, + ARIMA on log1p residual",
    "pooled": "company-wide calendar x scale + ARIMA on log1p residual (the previous model)",
    "seasonal_naive": "seasonal naive (same weekday last week)",
    "last_year": "same day last year (52 weeks back)",
}


# "MM-DD" of every (month, day), at month * 32 + day: a lookup instead of strftime on every call.
_MONTH_DAY = np.array([f"{m:02d}-{d:02d}" for m in range(13) for d in range(32)])


def month_day(days: pd.DatetimeIndex) -> np.ndarray:
    return _MONTH_DAY[days.month.to_numpy() * 32 + days.day.to_numpy()]


@dataclass(frozen=True)
class Design:
    """The calendar design shared by a run: yearly harmonics, and the fixed dates (MM-DD) learnt
    from the total's history: `holidays` get an effect of their own in every series, `closures`
    (no sales on that date in every past year) are forecast as zero. With HOLIDAY_COUNTRY set,
    `country_holidays` are that country's holidays, moving ones included, as (name, ISO dates)
    over the history and a year past it: each name is an effect of its own too."""

    origin: date
    fourier_k: int
    holidays: tuple[str, ...] = ()
    closures: tuple[str, ...] = ()
    extra_sigma: float = 0.0
    country: str = ""
    country_holidays: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def features(self, days: pd.DatetimeIndex) -> np.ndarray:
        """The design matrix of `days` (read-only). A run asks for the same few daily ranges for every
        series (history, backtest history, horizons), so those are built once per process."""
        if days.freqstr == "D" and len(days):
            return _design_features(self, days[0], len(days))
        return self._features(days)

    def _features(self, days: pd.DatetimeIndex) -> np.ndarray:
        base = calendar_features(days, origin=self.origin, fourier_k=self.fourier_k)
        columns = [base]
        if self.holidays:
            labels = month_day(days)
            columns += [(labels == h).astype(float)[:, None] for h in self.holidays]
        if self.country_holidays:
            day_numbers = days.to_numpy().astype("datetime64[D]")
            columns += [
                np.isin(day_numbers, np.array(dates, dtype="datetime64[D]")).astype(float)[:, None]
                for _name, dates in self.country_holidays
            ]
        return np.column_stack(columns) if len(columns) > 1 else base

    def closed(self, days: pd.DatetimeIndex) -> np.ndarray:
        return np.isin(month_day(days), self.closures)

    def tau(self) -> np.ndarray:
        """Prior spread per column (inf for the intercept: it is never shrunk)."""
        harmonics = [TAU_FOURIER / k for k in range(1, self.fourier_k + 1) for _ in (0, 1)]
        dated = len(self.holidays) + len(self.country_holidays)
        return np.array([np.inf, *[TAU_WEEKDAY] * 6, *harmonics, TAU_TREND, *[TAU_HOLIDAY] * dated])

    def holiday_columns(self) -> slice:
        start = 1 + 6 + 2 * self.fourier_k + 1
        return slice(start, start + len(self.holidays))

    def country_holiday_columns(self) -> slice:
        start = self.holiday_columns().stop
        return slice(start, start + len(self.country_holidays))

    def as_dict(self) -> dict:
        return {
            "origin": self.origin.isoformat(),
            "fourier_k": self.fourier_k,
            "holidays": list(self.holidays),
            "closures": list(self.closures),
            "extra_sigma": self.extra_sigma,
            "country": self.country,
            "country_holidays": [[name, list(dates)] for name, dates in self.country_holidays],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Design:
        return cls(
            origin=date.fromisoformat(data["origin"]),
            fourier_k=data["fourier_k"],
            holidays=tuple(data.get("holidays", ())),
            closures=tuple(data.get("closures", ())),
            extra_sigma=data.get("extra_sigma", 0.0),
            country=data.get("country", ""),
            country_holidays=tuple((name, tuple(dates)) for name, dates in data.get("country_holidays", ())),
        )


def holiday_effects(*, design: Design, coef) -> tuple[dict[str, float], dict[str, float]]:
    """The multiplicative effects (0.3 = +30 %) of a shape's dated columns: {MM-DD: effect} of the
    fixed dates learnt from the history, {name: effect} of the country's holidays."""
    coef = np.asarray(coef, dtype=float)
    fixed = zip(design.holidays, coef[design.holiday_columns()], strict=True)
    named = zip(design.country_holidays, coef[design.country_holiday_columns()], strict=True)
    return (
        {day: round(float(math.expm1(c)), 4) for day, c in fixed},
        {name: round(float(math.expm1(c)), 4) for (name, _dates), c in named},
    )


@functools.lru_cache(maxsize=16)
def _design_features(design: Design, first: pd.Timestamp, count: int) -> np.ndarray:
    features = design._features(pd.date_range(first, periods=count, freq="D"))
    features.setflags(write=False)
    return features


def country_holidays_list(
    *, country: str, first: date, last: date, fixed: set[str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The country's holidays from `first` to `last` (the `holidays` package), as (name, ISO dates)
    by name. A holiday that only ever falls on a fixed date already learnt from the history (or a
    closure) is left out: that date has its effect already, and two columns would split it."""
    import holidays as holiday_calendars

    calendar = holiday_calendars.country_holidays(country, years=range(first.year, last.year + 1))
    by_name: dict[str, list[str]] = {}
    for day, name in sorted(calendar.items()):
        if first <= day <= last:
            by_name.setdefault(name, []).append(day.isoformat())
    return tuple((name, tuple(dates)) for name, dates in sorted(by_name.items()) if not {d[5:] for d in dates} <= fixed)


def fixed_dates_find(*, days: pd.DatetimeIndex, total: np.ndarray, calendar: Calendar) -> tuple[list, list]:
    """Fixed dates (MM-DD) that behave the same way in every past year: closures (no sales at all,
    at least twice) and holidays (the total's residual from the calendar on the same side, and far
    beyond its noise, every year). Returns (holidays, closures)."""
    labels = month_day(days)
    total = np.asarray(total, dtype=float)
    frame = pd.DataFrame({"label": labels, "zero": total <= 0})
    counts = frame.groupby("label")["zero"].agg(["sum", "count"])
    active = total > 0
    first, last = np.argmax(active), len(active) - np.argmax(active[::-1])
    inside = frame.iloc[first:last].groupby("label")["zero"].agg(["sum", "count"])
    closures = sorted(inside.index[(inside["count"] >= 2) & (inside["sum"] == inside["count"])])
    del counts
    keep = active & ~np.isin(labels, closures)
    residual = np.log(np.where(keep, total, 1.0)) - calendar.log_level(days)
    residual = residual - np.mean(residual[keep])
    noise = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep])))) or 1e-9
    by_date = pd.DataFrame({"label": labels[keep], "r": residual[keep]}).groupby("label")["r"]
    stats_ = by_date.agg(["mean", "min", "max", "count"])
    strong = (stats_["count"] >= 2) & (stats_["mean"].abs() > 3 * noise)
    same_side = (stats_["min"] > 1.5 * noise) | (stats_["max"] < -1.5 * noise)
    found = stats_[strong & same_side & (stats_.index != "02-29")]
    holidays = list(found["mean"].abs().sort_values(ascending=False).index[:HOLIDAY_MAX])
    return sorted(holidays), closures


def design_fit(*, days: pd.DatetimeIndex, total: np.ndarray, country: str = "") -> tuple[Design, np.ndarray]:
    """The run's design and the total's own coefficients on it (the root of every prior).
    `country`: an ISO code whose holidays (the `holidays` package) join the learnt fixed dates."""
    total = np.asarray(total, dtype=float)
    calendar = calendar_fit(days=days, total=total)
    holidays, closures = ([], [])
    # The total may be flat over the year while its items are not (summer and winter goods):
    # every series gets some yearly terms to shrink, whatever the total needed.
    if len(days) >= MIN_YEARLY_DAYS + VALIDATION_DAYS and calendar.fourier_k < MIN_SERIES_FOURIER_K:
        refit = calendar_fit(days=days, total=total, fourier_k=MIN_SERIES_FOURIER_K)
        calendar = replace(refit, extra_sigma=calendar.extra_sigma)
    if len(days) >= 2 * 365:
        holidays, closures = fixed_dates_find(days=days, total=total, calendar=calendar)
    design = Design(
        origin=calendar.origin,
        fourier_k=calendar.fourier_k,
        holidays=tuple(holidays),
        closures=tuple(closures),
        extra_sigma=calendar.extra_sigma,
        country=country,
        country_holidays=country_holidays_list(
            country=country,
            first=days[0].date(),
            last=days[-1].date() + timedelta(days=COUNTRY_HOLIDAYS_AHEAD_DAYS),
            fixed={*holidays, *closures},
        )
        if country
        else (),
    )
    coef = shape_fit(y=total, days=days, design=design, prior=None)
    return design, coef


def overdispersion(y: np.ndarray) -> float:
    """Negative-binomial overdispersion phi (Var = mu + phi mu^2) from week-apart differences,
    which cancel the weekday pattern and most of the slow changes."""
    if len(y) < 15:
        return 0.0
    diff = y[7:] - y[:-7]
    mean = float(np.mean(y))
    if mean <= 0:
        return 0.0
    return float(np.clip((0.5 * np.mean(diff**2) - mean) / np.mean(y**2), 0.0, 1.0))


def shape_fit(*, y: np.ndarray, days: pd.DatetimeIndex, design: Design, prior: np.ndarray | None) -> np.ndarray:
    """Coefficients of log(rate) on the design: penalized Poisson regression (IRLS) toward `prior`
    (None: no penalty). Days before the first sale (not launched yet) and closures are left out."""
    y = np.asarray(y, dtype=float)
    x_all = design.features(days)
    p = x_all.shape[1]
    live = np.zeros(len(y), dtype=bool)
    if (y > 0).any():
        live[int(np.argmax(y > 0)) :] = True
    live &= ~design.closed(days)
    x, target = x_all[live], y[live]
    base = np.zeros(p) if prior is None else np.asarray(prior, dtype=float)
    coef = base.copy()
    if len(target) == 0 or target.sum() <= 0:
        return coef
    eta = x @ coef
    coef[0] += math.log(target.sum() / np.exp(eta).sum())
    if prior is None:
        penalty = np.full(p, 1e-6)
        penalty[0] = 0.0
    else:
        penalty = 1.0 / design.tau() ** 2
    if len(target) < MIN_SERIES_DAYS:
        return coef
    phi = overdispersion(target)
    for _ in range(IRLS_STEPS):
        eta = np.clip(x @ coef, -30, 30)
        mu = np.exp(eta)
        weight = mu / (1 + phi * mu)
        z = eta + (target - mu) / mu
        lhs = x.T @ (x * weight[:, None]) + np.diag(penalty)
        rhs = x.T @ (weight * z) + penalty * base
        try:
            new = np.linalg.solve(lhs, rhs)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(new)):
            break
        done = np.max(np.abs(new - coef)) < 1e-4
        coef = new
        if done:
            break
    return coef


def prior_combine(*, store: np.ndarray, item: np.ndarray, total: np.ndarray) -> np.ndarray:
    """A store-item's prior shape: its store's and its item's effects on top of the total's (log scale)."""
    return np.asarray(store) + np.asarray(item) - np.asarray(total)


# ---------------------------------------------------------------- count forecasts


@dataclass
class CountForecast:
    """A predictive distribution per day: negative binomial with mean `mean` and
    overdispersion `phi` (Var = mean + phi mean^2; phi = 0 is Poisson)."""

    mean: np.ndarray
    phi: np.ndarray

    def as_dict(self) -> dict[str, list[float]]:
        return {"mean": [round(float(v), 4) for v in self.mean], "phi": [round(float(v), 6) for v in self.phi]}

    @classmethod
    def from_dict(cls, data: dict) -> CountForecast:
        return cls(mean=np.asarray(data["mean"], dtype=float), phi=np.asarray(data["phi"], dtype=float))


def _count_dist(mean: np.ndarray, phi: np.ndarray):
    from scipy import stats

    mean = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    phi = np.maximum(np.asarray(phi, dtype=float), 1e-7)
    n = 1.0 / phi
    return stats.nbinom(n, n / (n + mean))


def count_interval(mean: np.ndarray, phi: np.ndarray, *, content: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer bounds [L, U] holding about `content` of the distribution: the L whose tail below
    is nearest (1 - content) / 2, then the U that makes F(U) - F(L - 1) nearest `content`.
    Nearest, not merely at least: the integer bounds of low counts otherwise cover far more
    than asked (Poisson(1): the smallest [0, U] holding 80 % holds 92 %); over many days the
    roundings up and down average out, and the backtest calibration tunes `content`."""
    dist = _count_dist(mean, phi)
    tail = (1 - content) / 2
    low = dist.ppf(tail)  # smallest y with F(y) >= tail; the tail below L = low is F(low - 1) < tail
    below_low, at_low = dist.cdf(low - 1), dist.cdf(low)
    lower = np.where(at_low - tail < tail - below_low, low + 1, low)
    below = dist.cdf(lower - 1)
    target = np.minimum(below + content, 1 - 1e-12)
    high = dist.ppf(target)
    below_high, at_high = dist.cdf(high - 1), dist.cdf(high)
    upper = np.where(target - below_high < at_high - target, high - 1, high)
    upper = np.maximum(upper, lower)
    zero = np.asarray(mean) <= 0
    clean = [np.maximum(np.nan_to_num(np.where(zero, 0.0, b), nan=0.0, posinf=0.0), 0.0) for b in (lower, upper)]
    return clean[0], clean[1]


def count_bands(forecast: CountForecast, *, content: dict[str, float] | None = None) -> Forecast:
    """Point (the median: SMAPE rewards it for low counts) and 80/95 % intervals of a count forecast.
    `content`: per nominal ("80", "95"), the probability content the backtest calibration chose."""
    mean, phi = forecast.mean, forecast.phi
    content = content or {}
    point = count_point(forecast)
    bands = {n: count_interval(mean, phi, content=content.get(str(n), n / 100)) for n in (80, 95)}
    lo80, hi80 = np.minimum(bands[80][0], point), np.maximum(bands[80][1], point)
    return Forecast(
        yhat=point,
        lower_80=lo80,
        upper_80=hi80,
        lower_95=np.minimum(bands[95][0], lo80),
        upper_95=np.maximum(bands[95][1], hi80),
    )


def coverage_of(*, actual: np.ndarray, forecast: CountForecast, content: float) -> np.ndarray:
    lower, upper = count_interval(forecast.mean, forecast.phi, content=content)
    return (actual >= lower) & (actual <= upper)


CONTENT_RANGE = (0.3, 0.9995)
# A series' holdout days share one level error (the whole window a little high or low), so a level's
# backtest holds about one independent look at its intervals per series, not one per day: the total
# (one series) and a few stores calibrated on their own backtest alone carried that window's luck into
# the next (content 0.43 for 80 % on one window, 70 % coverage on the next). The content found is
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


# ---------------------------------------------------------------- candidates of one series


@dataclass
class CandidateFit:
    """Every candidate's count forecast for one series, and what the model learnt."""

    forecasts: dict[str, CountForecast]
    order: tuple[int, int, int] | None
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


def naive_candidates(*, y: np.ndarray, horizon: int) -> dict[str, CountForecast]:
    """Seasonal naive (last week) and same day last year (52 weeks back), with their own spread.
    A week-apart error holds two draws' noise, hence the halving inside _naive_phi."""
    y = np.asarray(y, dtype=float)
    out = {}
    for name, lag in (("seasonal_naive", 7), ("last_year", 364)):
        if len(y) >= lag:
            mean = np.array([y[len(y) - lag + (h % lag)] for h in range(horizon)])
        else:
            mean = seasonal_naive(y=y, horizon=horizon).yhat
        out[name] = CountForecast(mean=mean, phi=np.full(horizon, 2 * _naive_phi(y, min(lag, len(y) - 1)) + 0.01))
    return out


def _arima_count(
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
    # outweighed every other day's error in the spread (a 4.9 % daily sd where the errors were 2 %).
    residual = np.where(open_days, residual, 0.0)
    window = residual[-ARIMA_WINDOW_DAYS:]
    model = _order_select(window) if order is None else _arima_fit(window, tuple(order))
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


def candidates_fit(
    *,
    y: np.ndarray,
    days: pd.DatetimeIndex,
    design: Design,
    coef: np.ndarray,
    pooled_coef: np.ndarray,
    horizon: int,
    order: tuple[int, int, int] | None = None,
) -> CandidateFit:
    """Every candidate for one series: its own calendar (`coef`, from shape_fit) and the pooled one
    (`pooled_coef`, the total's shape), each with a level from the last year and an ARIMA on the
    rest; seasonal naive; same day last year. Never raises: a model that cannot be fitted is left
    out, and the reason recorded."""
    y = np.asarray(y, dtype=float)
    future = pd.date_range(days[-1] + timedelta(days=1), periods=horizon, freq="D")
    forecasts = naive_candidates(y=y, horizon=horizon)
    closed_future = design.closed(future)
    info: dict = {}
    reasons = []
    chosen_order = None
    if not np.all(np.isfinite(y)) or (y < 0).any():
        reasons.append("history has negative or non-finite values")
        y = np.nan_to_num(np.maximum(y, 0))
        forecasts = naive_candidates(y=y, horizon=horizon)
    else:
        live_from = int(np.argmax(y > 0)) if (y > 0).any() else len(y)
        live_days = len(y) - live_from
        x_past, x_future = design.features(days), design.features(future)
        closed_past = design.closed(days)
        for name, shape in (("calendar", coef), ("pooled", pooled_coef)):
            try:
                if live_days < MIN_SERIES_DAYS:
                    raise FitError(f"only {live_days} days since the first sale (need {MIN_SERIES_DAYS})")
                log_rate = x_past @ shape
                recent = slice(max(live_from, len(y) - SCALE_WINDOW_DAYS), len(y))
                open_recent = ~closed_past[recent]
                level = y[recent][open_recent].sum() / np.exp(log_rate[recent][open_recent]).sum()
                if not (math.isfinite(level) and level > 0):
                    raise FitError("no sales in the last year")
                log_rate = log_rate + math.log(level)
                future_log_rate = x_future @ shape + math.log(level)
                live = slice(live_from, len(y))
                if live_days >= 56:
                    forecast, model = _arima_count(
                        y=y[live],
                        log_rate=log_rate[live],
                        future_log_rate=future_log_rate,
                        order=order if name == "pooled" or order is not None else None,
                        extra_sigma=design.extra_sigma,
                        closed=closed_past[live],
                    )
                    if name == "calendar":
                        chosen_order = tuple(int(v) for v in model.order)
                        order = chosen_order if order is None else order
                        info["aic"] = float(model.aic())
                else:
                    # Too short for an ARIMA: the calendar alone, with the level's own uncertainty.
                    rate = np.exp(future_log_rate)
                    phi0 = overdispersion(y[live]) + 1.0 / max(y[live].sum(), 1.0)
                    forecast = CountForecast(mean=rate, phi=np.full(horizon, phi0 + design.extra_sigma**2))
                forecast.mean = np.where(closed_future, 0.0, forecast.mean)
                if not (np.all(np.isfinite(forecast.mean)) and np.all(np.isfinite(forecast.phi))):
                    raise FitError("non-finite forecast")
                forecasts[name] = forecast
                if name == "calendar":
                    info["level"] = float(level)
            except Exception as exc:  # one model of one series must not stop the run
                reasons.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    for name in ("seasonal_naive", "last_year"):
        forecasts[name].mean = np.where(closed_future, 0.0, forecasts[name].mean)
    info["holidays"], country_holidays = holiday_effects(design=design, coef=coef)
    info["closures"] = list(design.closures)
    if country_holidays:
        info["country_holidays"] = country_holidays
    fallback = "calendar" not in forecasts
    return CandidateFit(
        forecasts=forecasts, order=chosen_order, fallback=fallback, reason="; ".join(reasons)[:500], info=info
    )


def count_point(forecast: CountForecast) -> np.ndarray:
    """The published point: the median of the predictive distribution (0 where the mean is 0)."""
    return np.where(forecast.mean > 0, _count_dist(forecast.mean, forecast.phi).median(), 0.0)


NAIVE = ("seasonal_naive", "last_year")


def model_choose(*, scores: dict[str, dict[str, float]]) -> dict[str, tuple[str, str]]:
    """Each level's published model and why, from every candidate's backtest SMAPE per level.

    The store-items take their best candidate; the other levels are its bottom-up sums (so the
    means add up) unless that loses to a naive candidate on their own backtest, which is then
    published instead: no level is ever published worse than the best naive on its backtest."""

    def listing(level_scores: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.2f}" for name, value in sorted(level_scores.items(), key=lambda kv: kv[1]))

    bottom = scores.get("store_item") or scores.get("total") or {}
    best = min(bottom, key=bottom.get) if bottom else "calendar"
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
