"""Predictive distributions per day, and the bands published from them.

Pure numpy/scipy, no Django. A series' forecast is a `CountForecast`: for a count series (every
value of its history whole and >= 0: units sold) a negative binomial per day (mean and
overdispersion), for any other series (dollars, kilograms, net units with returns) a normal
distribution per day (mean and standard deviation). What the dashboard shows is its `Forecast`
bands: the median as the point, and 80 / 95 % interval bounds, whose probability content the
backtest calibration (`calibration`) may tune per level. A count's bounds are whole numbers and
never negative; a continuous series' are not rounded, and only a series whose history went
negative ("signed") may have a negative bound.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass
class Forecast:
    """A forecast of `len(yhat)` days; every array is on the sales scale, negative only for a signed series."""

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


COUNT, CONTINUOUS, SIGNED = "count", "continuous", "signed"


def series_kind(y: np.ndarray) -> str:
    """What a history's values are: COUNT (all whole and >= 0), SIGNED (some below zero: net returns),
    or CONTINUOUS (fractional, never negative: dollars, kilograms)."""
    y = np.asarray(y, dtype=float)
    finite = y[np.isfinite(y)]
    if (finite < 0).any():
        return SIGNED
    return COUNT if np.array_equal(finite, np.round(finite)) else CONTINUOUS


@dataclass
class CountForecast:
    """A predictive distribution per day (arrays of one series' days, or series x days).

    A count row: negative binomial with mean `mean` and overdispersion `phi` (Var = mean + phi mean^2;
    phi = 0 is Poisson). A continuous row (`sd` finite): normal with mean `mean` and standard deviation
    `sd`; `phi` is then its squared coefficient of variation (sd / mean)^2, read where a relative
    spread is needed. `sd` None (or NaN on a row) means counts. `signed` (True on a row) lets a
    continuous row's bounds go below zero; None means never."""

    mean: np.ndarray
    phi: np.ndarray
    sd: np.ndarray | None = None
    signed: np.ndarray | None = None

    def as_dict(self) -> dict[str, list[float] | bool]:
        """JSON of one series' forecast: "sd" and "signed" only for a continuous one."""
        out: dict[str, list[float] | bool] = {
            "mean": [round(float(v), 4) for v in self.mean],
            "phi": [round(float(v), 6) for v in self.phi],
        }
        if self.sd is not None:
            out["sd"] = [round(float(v), 6) for v in self.sd]
            out["signed"] = bool(np.any(self.signed)) if self.signed is not None else False
        return out

    @classmethod
    def from_dict(cls, data: dict) -> CountForecast:
        mean = np.asarray(data["mean"], dtype=float)
        sd = np.asarray(data["sd"], dtype=float) if "sd" in data else None
        signed = np.full(mean.shape, bool(data.get("signed"))) if sd is not None else None
        return cls(mean=mean, phi=np.asarray(data["phi"], dtype=float), sd=sd, signed=signed)

    def continuous(self) -> np.ndarray:
        """Which entries are continuous (normal), shaped like `mean`."""
        if self.sd is None:
            return np.zeros(np.shape(self.mean), dtype=bool)
        return np.isfinite(np.broadcast_to(self.sd, np.shape(self.mean)))

    def floor(self) -> np.ndarray:
        """The lowest value a bound may take, shaped like `mean`: -inf where signed, else 0."""
        if self.signed is None:
            return np.zeros(np.shape(self.mean))
        return np.where(np.broadcast_to(self.signed, np.shape(self.mean)), -np.inf, 0.0)

    def atleast_2d(self) -> CountForecast:
        return CountForecast(
            mean=np.atleast_2d(self.mean),
            phi=np.atleast_2d(self.phi),
            sd=None if self.sd is None else np.atleast_2d(self.sd),
            signed=None if self.signed is None else np.atleast_2d(self.signed),
        )

    def take(self, rows: np.ndarray) -> CountForecast:
        """The given rows of a series x days forecast, flattened to one array per field."""
        return CountForecast(
            mean=np.atleast_2d(self.mean)[rows].ravel(),
            phi=np.atleast_2d(self.phi)[rows].ravel(),
            sd=None if self.sd is None else np.atleast_2d(self.sd)[rows].ravel(),
            signed=None if self.signed is None else np.atleast_2d(self.signed)[rows].ravel(),
        )

    def relative_variance(self) -> np.ndarray:
        """The daily variance relative to the mean squared: 1 / mean + phi for counts, (sd / mean)^2
        for continuous rows."""
        count = 1.0 / np.maximum(self.mean, 1e-9) + self.phi
        if self.sd is None:
            return count
        relative = (np.nan_to_num(self.sd) / np.maximum(np.abs(self.mean), 1e-9)) ** 2
        return np.where(self.continuous(), relative, count)

    def widen(self, variance: np.ndarray) -> None:
        """Add a relative (log-scale) variance per row or entry: to phi, and to a continuous row's sd as
        variance x mean^2."""
        self.phi = self.phi + variance
        if self.sd is not None:
            self.sd = np.sqrt(self.sd**2 + variance * self.mean**2)


def forecasts_stack(forecasts: list[CountForecast]) -> CountForecast:
    """Single-series forecasts as one series x days forecast (counts and continuous rows mixed)."""
    mean = np.vstack([f.mean for f in forecasts])
    phi = np.vstack([f.phi for f in forecasts])
    if all(f.sd is None for f in forecasts):
        return CountForecast(mean=mean, phi=phi)
    sd = np.vstack([np.full(np.shape(f.mean), np.nan) if f.sd is None else f.sd for f in forecasts])
    signed = np.vstack([np.broadcast_to(f.floor() < 0, np.shape(f.mean)) for f in forecasts])
    return CountForecast(mean=mean, phi=phi, sd=sd, signed=signed)


def _count_dist(mean: np.ndarray, phi: np.ndarray):
    from scipy import stats

    mean = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    phi = np.maximum(np.asarray(phi, dtype=float), 1e-7)
    n = 1.0 / phi
    return stats.nbinom(n, n / (n + mean))


# The negative-binomial quantiles of a whole level (the finishing step: about 30,000 series x 90 days)
# are most of its time. scipy's special functions release the GIL, so a large array is split across
# threads, one per core: the same values, on every core.
QUANTILE_THREADS = os.cpu_count() or 1
PARALLEL_MIN_POINTS = 20_000


def _in_parallel(function, *arrays: np.ndarray, **kwargs) -> tuple[np.ndarray, ...]:
    """`function(*arrays, **kwargs)` (element-wise, returning a tuple of arrays shaped like its inputs),
    computed in QUANTILE_THREADS threads over parts of the flattened arrays when they are large."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    flat = [np.broadcast_to(np.asarray(a, dtype=float), shape).ravel() for a in arrays]
    size = int(np.prod(shape))
    if QUANTILE_THREADS < 2 or size < PARALLEL_MIN_POINTS:
        return tuple(np.reshape(r, shape) for r in function(*flat, **kwargs))
    bounds = np.linspace(0, size, QUANTILE_THREADS + 1).astype(int)
    parts = [slice(a, b) for a, b in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(max_workers=QUANTILE_THREADS) as executor:
        results = list(executor.map(lambda part: function(*(f[part] for f in flat), **kwargs), parts))
    return tuple(np.concatenate([r[i] for r in results]).reshape(shape) for i in range(len(results[0])))


def _count_median(mean: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray]:
    return (_count_dist(mean, phi).median(),)


def count_interval(mean: np.ndarray, phi: np.ndarray, *, content: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer bounds (in parallel for a large array: `_in_parallel`); see `_count_interval`."""
    lower, upper = _in_parallel(_count_interval, mean, phi, content=content)
    return lower, upper


def _count_interval(mean: np.ndarray, phi: np.ndarray, *, content: float) -> tuple[np.ndarray, np.ndarray]:
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


def normal_interval(
    mean: np.ndarray, sd: np.ndarray, floor: np.ndarray, *, content: float
) -> tuple[np.ndarray, np.ndarray]:
    """The central `content` interval of a normal distribution, bounds no lower than `floor`."""
    from scipy import stats

    half = float(stats.norm.ppf(0.5 + content / 2)) * np.nan_to_num(sd)
    return np.maximum(mean - half, floor), np.maximum(mean + half, floor)


def interval(forecast: CountForecast, *, content: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounds holding about `content` of each day's distribution: `count_interval` for count entries,
    `normal_interval` for continuous ones."""
    continuous = forecast.continuous()
    if not continuous.any():
        return count_interval(forecast.mean, forecast.phi, content=content)
    mean = np.asarray(forecast.mean, dtype=float)
    lower, upper = np.empty(mean.shape), np.empty(mean.shape)
    assert forecast.sd is not None  # continuous entries have one
    sd = np.broadcast_to(forecast.sd, mean.shape)
    lower[continuous], upper[continuous] = normal_interval(
        mean[continuous], sd[continuous], forecast.floor()[continuous], content=content
    )
    counted = ~continuous
    if counted.any():
        phi = np.broadcast_to(forecast.phi, mean.shape)
        lower[counted], upper[counted] = count_interval(mean[counted], phi[counted], content=content)
    return lower, upper


def count_bands(forecast: CountForecast, *, content: dict[str, float] | None = None) -> Forecast:
    """Point (the median: SMAPE rewards it for low counts) and 80/95 % intervals of a forecast (counts,
    continuous, or both mixed by row). `content`: per nominal ("80", "95"), the probability content the
    backtest calibration chose."""
    content = content or {}
    point = count_point(forecast)
    bands = {n: interval(forecast, content=content.get(str(n), n / 100)) for n in (80, 95)}
    lo80, hi80 = np.minimum(bands[80][0], point), np.maximum(bands[80][1], point)
    return Forecast(
        yhat=point,
        lower_80=lo80,
        upper_80=hi80,
        lower_95=np.minimum(bands[95][0], lo80),
        upper_95=np.maximum(bands[95][1], hi80),
    )


def coverage_of(*, actual: np.ndarray, forecast: CountForecast, content: float) -> np.ndarray:
    lower, upper = interval(forecast, content=content)
    return (actual >= lower) & (actual <= upper)


def count_point(forecast: CountForecast) -> np.ndarray:
    """The published point: the median of the predictive distribution (0 where a count's mean is 0;
    a continuous one's is its mean, no lower than its floor)."""
    (median,) = _in_parallel(_count_median, forecast.mean, forecast.phi)
    counted = np.where(forecast.mean > 0, median, 0.0)
    continuous = forecast.continuous()
    if not continuous.any():
        return counted
    return np.where(continuous, np.maximum(forecast.mean, forecast.floor()), counted)
