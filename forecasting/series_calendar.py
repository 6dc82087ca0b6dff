"""Per-series calendars, partly pooled (pure numpy/pandas, no Django).

Each series gets its own calendar: log(rate) = intercept + weekday + yearly Fourier + trend +
fixed-date holiday effects (+ a country's holidays when configured), fitted by penalized Poisson
regression (a few IRLS steps) that shrinks every coefficient toward a prior shape: the total's
for a store or an item, store + item - total for a store-item. The data's weight is its Fisher
information (rate x days, divided by the overdispersion), so a long dense series uses its own
shape and a short or sparse one borrows its peers'.

`design_fit` builds the run's `Design` from the total's history (the pooled calendar's harmonics,
the fixed dates learnt as holidays and closures, the country's holidays) and the total's own
coefficients, the root of every prior; `shape_fit` fits one series on it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecasting.pooled_calendar import (
    MIN_YEARLY_DAYS,
    VALIDATION_DAYS,
    Calendar,
    calendar_features,
    calendar_fit,
    span_days,
    step_days,
)

# Prior spread (log scale) of a series' coefficient around its prior: weekday effects, the
# k-th yearly harmonic (smoother shapes are likelier: tau / k), trend per year, a holiday.
TAU_WEEKDAY = 0.15
TAU_FOURIER = 0.2
TAU_TREND = 0.1
TAU_HOLIDAY = 0.5
HOLIDAY_MAX = 20
# A holiday week moves a weekly total by at least this much (log scale, about 8 %).
HOLIDAY_WEEK_MIN_EFFECT = 0.08
# A run's country holidays reach this far past the history: any horizon (FORECAST_DAYS <= 365) fits.
COUNTRY_HOLIDAYS_AHEAD_DAYS = 400
MIN_SERIES_FOURIER_K = 4
IRLS_STEPS = 4
MIN_SERIES_DAYS = 14


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
    # Days per observation: 1, or 7 for a weekly history, each observation the week that ends on its
    # date. A weekly design has no weekday, and its holidays are weeks: the week that holds the date.
    step_days: int = 1

    def features(self, days: pd.DatetimeIndex) -> np.ndarray:
        """The design matrix of `days` (read-only). A run asks for the same few daily ranges for every
        series (history, backtest history, horizons), so those are built once per process."""
        if days.freqstr == "D" and len(days):
            return _design_features(self, days[0], len(days))
        return self._features(days)

    def _features(self, days: pd.DatetimeIndex) -> np.ndarray:
        base = calendar_features(days, origin=self.origin, fourier_k=self.fourier_k, weekly=self.step_days > 1)
        columns = [base]
        # Each observation's days (step_days of them, ending on its date): a holiday is in the observation
        # when one of them is the holiday.
        covered = [days - pd.Timedelta(days=back) for back in range(self.step_days)]
        if self.holidays:
            labels = [month_day(d) for d in covered]
            columns += [np.any([lab == h for lab in labels], axis=0).astype(float)[:, None] for h in self.holidays]
        if self.country_holidays:
            numbers = [d.to_numpy().astype("datetime64[D]") for d in covered]
            for _name, dates in self.country_holidays:
                wanted = np.array(dates, dtype="datetime64[D]")
                columns.append(np.any([np.isin(n, wanted) for n in numbers], axis=0).astype(float)[:, None])
        return np.column_stack(columns) if len(columns) > 1 else base

    def closed(self, days: pd.DatetimeIndex) -> np.ndarray:
        if self.step_days > 1:
            return np.zeros(len(days), dtype=bool)  # a closed day is part of a week that is not
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
            "step_days": self.step_days,
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
            step_days=data.get("step_days", 1),
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


def holiday_weeks_find(*, days: pd.DatetimeIndex, total: np.ndarray, calendar: Calendar) -> list[str]:
    """The holidays of a weekly history: fixed dates (MM-DD) whose week (the one holding the date) sits on
    the same side of the calendar, far beyond its noise, every year (as `fixed_dates_find` for days).
    A week holds seven dates that all qualify alike: one date is kept per distinct set of weeks. A
    moving holiday is found through a date its week always holds (Thanksgiving's week ending on the
    Friday after it always holds 23 November)."""
    step = step_days(days)
    total = np.asarray(total, dtype=float)
    active = total > 0
    residual = np.log(np.where(active, total, 1.0)) - calendar.log_level(days)
    residual = residual - np.mean(residual[active])
    noise = 1.4826 * float(np.median(np.abs(residual[active] - np.median(residual[active])))) or 1e-9
    # Every (week, MM-DD it holds) pair, for the active weeks.
    labels = np.concatenate([month_day(days[active] - pd.Timedelta(days=back)) for back in range(step)])
    weeks = np.concatenate([np.flatnonzero(active)] * step)
    frame = pd.DataFrame({"label": labels, "week": weeks, "r": residual[weeks]})
    grouped = frame.groupby("label")
    stats_ = grouped["r"].agg(["mean", "min", "max", "count"])
    stats_["weeks"] = grouped["week"].agg(lambda w: tuple(sorted(w)))
    # A sum of a week's sales is smooth: beyond its noise, the calendar's own misfit must not pass for holidays.
    strong = (stats_["count"] >= 2) & (stats_["mean"].abs() > max(3 * noise, HOLIDAY_WEEK_MIN_EFFECT))
    same_side = (stats_["min"] > 1.5 * noise) | (stats_["max"] < -1.5 * noise)
    found = stats_[strong & same_side & (stats_.index != "02-29")]
    found = found.loc[found["mean"].abs().sort_values(ascending=False).index].drop_duplicates("weeks")
    return sorted(found.index[:HOLIDAY_MAX])


def design_fit(*, days: pd.DatetimeIndex, total: np.ndarray, country: str = "") -> tuple[Design, np.ndarray]:
    """The run's design and the total's own coefficients on it (the root of every prior).
    `country`: an ISO code whose holidays (the `holidays` package) join the learnt fixed dates."""
    total = np.asarray(total, dtype=float)
    calendar = calendar_fit(days=days, total=total)
    holidays: list[str] = []
    closures: list[str] = []
    # The total may be flat over the year while its items are not (summer and winter goods):
    # every series gets some yearly terms to shrink, whatever the total needed.
    if span_days(days) >= MIN_YEARLY_DAYS + VALIDATION_DAYS and calendar.fourier_k < MIN_SERIES_FOURIER_K:
        refit = calendar_fit(days=days, total=total, fourier_k=MIN_SERIES_FOURIER_K)
        calendar = replace(refit, extra_sigma=calendar.extra_sigma)
    step = step_days(days)
    if step > 1 and span_days(days) >= 2 * 365:
        # A country's holidays name the weeks exactly, moving ones too; learnt from few years, a date that
        # a moving holiday's week held in each of them need not hold it next year.
        holidays = [] if country else holiday_weeks_find(days=days, total=total, calendar=calendar)
    elif len(days) >= 2 * 365:
        holidays, closures = fixed_dates_find(days=days, total=total, calendar=calendar)
    design = Design(
        origin=calendar.origin,
        fourier_k=calendar.fourier_k,
        holidays=tuple(holidays),
        closures=tuple(closures),
        extra_sigma=calendar.extra_sigma,
        step_days=step,
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
    (None: no penalty). Days before the first sale (not launched yet) and closures are left out.
    A day of net returns (below zero) counts as a day without sales: the shape is that of the rate of
    sales, and a series' level is re-set from its net sales (candidates.calendar_candidate)."""
    y = np.maximum(np.asarray(y, dtype=float), 0.0)
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
