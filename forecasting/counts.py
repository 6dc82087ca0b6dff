"""Count forecasts: a negative-binomial distribution per day, and the bands published from it.

Pure numpy/scipy, no Django. A series' forecast is a `CountForecast` (mean and overdispersion
per day); what the dashboard shows is its `Forecast` bands: the median as the point, and integer
80 / 95 % interval bounds, never negative, whose probability content the backtest calibration
(`calibration`) may tune per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def count_point(forecast: CountForecast) -> np.ndarray:
    """The published point: the median of the predictive distribution (0 where the mean is 0)."""
    return np.where(forecast.mean > 0, _count_dist(forecast.mean, forecast.phi).median(), 0.0)
