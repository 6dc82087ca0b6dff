"""The company-wide (pooled) calendar: log(total daily sales) as weekday + yearly Fourier + trend.

Fitted once per run by least squares on the total's history (pure numpy/pandas, no Django).
It is the run's yearly shape and the base of every series' own calendar (`series_calendar`),
and, times a series' scale, the "pooled" candidate (`candidates`). The number of yearly
harmonics is chosen on the last VALIDATION_DAYS of the history; `extra_sigma` is the calendar's
out-of-sample error, shared by every series' interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

FOURIER_PERIOD = 365.25
FOURIER_K = 4
FOURIER_K_GRID = (0, 2, 4, 6, 8, 10, 12, 15)
MIN_YEARLY_DAYS = 400
VALIDATION_DAYS = 90


SCALE_WINDOW_DAYS = 365


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
    step_days: int = 1

    def features(self, days: pd.DatetimeIndex) -> np.ndarray:
        return calendar_features(days, origin=self.origin, fourier_k=self.fourier_k, weekly=self.step_days > 1)

    def log_level(self, days: pd.DatetimeIndex) -> np.ndarray:
        return self.features(days) @ np.asarray(self.coef)

    def as_dict(self) -> dict:
        return {
            "origin": self.origin.isoformat(),
            "coef": list(self.coef),
            "fourier_k": self.fourier_k,
            "extra_sigma": self.extra_sigma,
            "step_days": self.step_days,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calendar:
        return cls(
            origin=date.fromisoformat(data["origin"]),
            coef=tuple(data["coef"]),
            fourier_k=data["fourier_k"],
            extra_sigma=data.get("extra_sigma", 0.0),
            step_days=data.get("step_days", 1),
        )

    def exogenous(self) -> list[str]:
        terms = ["weekday"]
        if self.fourier_k:
            terms.append(f"fourier({FOURIER_PERIOD}, k={self.fourier_k})")
        return [*terms, "trend", "scale(store x item)"]


def step_days(days: pd.DatetimeIndex) -> int:
    """Days between a history's observations: 1 (daily), 7 (weekly)."""
    return int((days[1] - days[0]).days) if len(days) > 1 else 1


def span_days(days: pd.DatetimeIndex) -> int:
    """Days a history covers (each observation covering `step_days`)."""
    return int((days[-1] - days[0]).days) + step_days(days) if len(days) else 0


def calendar_features(days: pd.DatetimeIndex, *, origin: date, fourier_k: int, weekly: bool = False) -> np.ndarray:
    """Design matrix: intercept, 6 weekday dummies (Monday is the base), 2k Fourier terms, trend in years.
    `weekly` observations have no weekday: their 6 weekday columns are zero (one column layout for all)."""
    t = (days - pd.Timestamp(origin)).days.to_numpy(dtype=float)
    weekday = days.day_of_week.to_numpy()
    columns = [np.ones_like(t)]
    columns += [(weekday == d).astype(float) * (not weekly) for d in range(1, 7)]
    for k in range(1, fourier_k + 1):
        angle = 2 * math.pi * k * t / FOURIER_PERIOD
        columns += [np.sin(angle), np.cos(angle)]
    columns.append(t / 365.25)
    return np.column_stack(columns)


def _calendar_lstsq(
    days: pd.DatetimeIndex, log_total: np.ndarray, *, origin: date, fourier_k: int, weekly: bool
) -> np.ndarray:
    x = calendar_features(days, origin=origin, fourier_k=fourier_k, weekly=weekly)
    coef, *_ = np.linalg.lstsq(x, log_total, rcond=None)
    return coef


def calendar_fit(*, days: pd.DatetimeIndex, total: np.ndarray, fourier_k: int | None = None) -> Calendar:
    """Least squares of log(total) on the calendar design (days without sales left out).

    `fourier_k=None` chooses the number of yearly harmonics on the last
    VALIDATION_DAYS of the history (fit before, score after); histories shorter
    than MIN_YEARLY_DAYS get no yearly terms, since one cycle cannot be told from a trend."""
    origin = days[0].date()
    step = step_days(days)
    weekly = step > 1
    total = np.asarray(total, dtype=float)
    keep = total > 0
    days_kept, log_total = days[keep], np.log(total[keep])
    flat = Calendar(
        origin=origin,
        coef=tuple([0.0] * calendar_features(days[:1], origin=origin, fourier_k=0).shape[1]),
        fourier_k=0,
        step_days=step,
    )
    if keep.sum() < 28:
        return flat  # too little history for weekday effects: scale only
    extra_sigma = 0.0
    if fourier_k is None:
        fourier_k = 0
        if span_days(days) >= MIN_YEARLY_DAYS + VALIDATION_DAYS:
            cut = days[-1] - pd.Timedelta(days=VALIDATION_DAYS - 1)
            fit_part, val_part = days_kept < cut, days_kept >= cut
            scores = {}
            for k in FOURIER_K_GRID:
                coef = _calendar_lstsq(
                    days_kept[fit_part], log_total[fit_part], origin=origin, fourier_k=k, weekly=weekly
                )
                x_fit = calendar_features(days_kept[fit_part], origin=origin, fourier_k=k, weekly=weekly)
                x_val = calendar_features(days_kept[val_part], origin=origin, fourier_k=k, weekly=weekly)
                in_sample = (log_total[fit_part] - x_fit @ coef)[-SCALE_WINDOW_DAYS // step :]
                # Score as candidates_fit uses it: the level re-set from the last year, the shape extrapolated.
                error = log_total[val_part] - x_val @ coef - in_sample.mean()
                scores[k] = (float(np.sqrt(np.mean(error**2))), float(error.std()), float(in_sample.std()))
            fourier_k = min(scores, key=lambda k: scores[k][0])
            _rmse, error_sd, in_sd = scores[fourier_k]
            # The spread of the error, not its mean: a level step inside the window (products launched,
            # a store opened) is a bias against the level re-set from the year before, which each
            # series' ARIMA follows anyway; counted here, it would widen every interval of a busy
            # series (a store, the total) far beyond its Poisson noise.
            extra_sigma = math.sqrt(max(error_sd**2 - in_sd**2, 0.0))
    coef = _calendar_lstsq(days_kept, log_total, origin=origin, fourier_k=fourier_k, weekly=weekly)
    if not np.all(np.isfinite(coef)):
        return flat
    return Calendar(
        origin=origin,
        coef=tuple(float(c) for c in coef),
        fourier_k=fourier_k,
        extra_sigma=extra_sigma,
        step_days=step,
    )
