"""The numbers behind the live generator, free of the database so tests can run
many simulated days without waiting.

`profile_fit_frame` turns the daily history into one row of parameters per
store-item (see models.SalesProfile for the model). `interval_draw` draws the
units sold in one interval of a day.

Why gamma-Poisson: a day is cut into intervals that are drawn independently. A
Poisson draw per interval would give a daily variance equal to the mean, but
the history is usually over-dispersed (variance = dispersion x mean). Drawing
each interval as Poisson(Gamma(shape = mean_t / (d - 1), scale = d - 1)), i.e.
negative binomial with the same success probability 1/d for every interval,
makes the sum over any number of intervals negative binomial again with
mean = sum of means and variance = d x mean. So the daily mean and variance
come out right whatever the interval length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

YEAR_DAYS = 365.25
TREND_CLIP = (0.5, 2.0)
DISPERSION_CLIP = (1.0, 50.0)


@dataclass(frozen=True)
class ProfileArrays:
    """All profiles as arrays aligned on (store_ids[k], item_ids[k])."""

    store_ids: np.ndarray
    item_ids: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    dispersion: np.ndarray
    weekday_factors: np.ndarray  # (n, 7)
    month_factors: np.ndarray  # (n, 12)
    reference_date: date
    history_end: date

    def __len__(self) -> int:
        return len(self.store_ids)


def profile_fit_frame(history: pd.DataFrame, *, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Fit one profile per (store, item) from daily rows with columns date
    (datetime64), store, item, sales. Returns columns store, item, level, trend,
    dispersion, weekday_factors (list of 7), month_factors (list of 12),
    reference_date, history_end. `end`: the history's last day (default: the last in
    `history`), given when `history` is one part of it, so that every part counts its
    recent year from the same day."""
    keys = ["store", "item"]
    df = history[["date", "store", "item", "sales"]].copy()
    df["sales"] = df["sales"].astype("float64")
    end = df["date"].max() if end is None else end
    df["weekday"] = df["date"].dt.day_of_week
    df["month"] = df["date"].dt.month
    df["year"] = df["date"].dt.year
    recent_start = end - pd.Timedelta(days=364)
    recent = df["date"] >= recent_start
    previous = (df["date"] >= recent_start - pd.Timedelta(days=365)) & ~recent

    level = df[recent].groupby(keys)["sales"].mean().rename("level")
    before = df[previous].groupby(keys)["sales"].agg(["mean", "count"])
    trend = (level / before["mean"].where(before["count"] >= 300)).clip(*TREND_CLIP).rename("trend")

    # Weekday factors against each row's month mean (so months and growth do not leak in);
    # ratio of sums rather than mean of ratios, which is biased for small counts.
    df["month_mean"] = df.groupby([*keys, "year", "month"])["sales"].transform("mean")
    weekday = df.groupby([*keys, "weekday"])[["sales", "month_mean"]].sum()
    weekday_factors = (weekday["sales"] / weekday["month_mean"]).unstack("weekday").reindex(columns=range(7))  # noqa: PD010

    # Month factors against each row's year mean, from whole years only when there are any
    # (a partial year's mean is itself seasonal).
    days_in_year = df.groupby([*keys, "year"])["sales"].transform("size")
    whole = df[days_in_year >= 360] if (days_in_year >= 360).any() else df
    whole = whole.assign(year_mean=whole.groupby([*keys, "year"])["sales"].transform("mean"))
    month = whole.groupby([*keys, "month"])[["sales", "year_mean"]].sum()
    month_factors = (month["sales"] / month["year_mean"]).unstack("month").reindex(columns=range(1, 13))  # noqa: PD010

    profiles = pd.concat([level, trend], axis=1).dropna(subset=["level"])
    profiles["trend"] = profiles["trend"].fillna(1.0)
    weekday_factors = _normalised(weekday_factors.reindex(profiles.index))
    month_factors = _normalised(month_factors.reindex(profiles.index))

    # Dispersion: residual variance / mean over the recent year, with the fitted expectation.
    reference = recent_start + (end - recent_start) / 2
    r = df[recent].join(profiles, on=keys, how="inner")
    index = pd.MultiIndex.from_frame(r[keys])
    wf = weekday_factors.reindex(index).to_numpy()[np.arange(len(r)), r["weekday"].to_numpy()]
    mf = month_factors.reindex(index).to_numpy()[np.arange(len(r)), r["month"].to_numpy() - 1]
    years = (r["date"] - reference).dt.days.to_numpy() / YEAR_DAYS
    r["expected"] = r["level"].to_numpy() * wf * mf * r["trend"].to_numpy() ** years
    r["squared"] = (r["sales"] - r["expected"]) ** 2
    sums = r.groupby(keys)[["squared", "expected"]].sum()
    dispersion = (sums["squared"] / sums["expected"]).where(sums["expected"] > 0).fillna(1.0).clip(*DISPERSION_CLIP)

    out = profiles.join(dispersion.rename("dispersion")).reset_index()
    out["dispersion"] = out["dispersion"].fillna(1.0)
    out["weekday_factors"] = [list(map(float, row)) for row in weekday_factors.to_numpy()]
    out["month_factors"] = [list(map(float, row)) for row in month_factors.to_numpy()]
    out["reference_date"] = reference.date()
    out["history_end"] = end.date()
    return out


def _normalised(factors: pd.DataFrame) -> pd.DataFrame:
    """Missing or non-finite factors take the mean of the row's known ones (1 where none is known, as for a
    product launched this year: no whole year to measure months by), then each row is scaled to average 1."""
    values = factors.to_numpy(dtype="float64")
    known = np.isfinite(values) & (values > 0)
    counts = known.sum(axis=1, keepdims=True)
    sums = np.where(known, values, 0.0).sum(axis=1, keepdims=True)
    # Not np.nanmean: it warns "Mean of empty slice" on a row with nothing known.
    means = np.divide(sums, counts, out=np.ones_like(sums), where=counts > 0)
    values = np.where(known, values, means)
    values /= values.mean(axis=1, keepdims=True)
    return pd.DataFrame(values, index=factors.index, columns=factors.columns)


def expected_daily(profiles: ProfileArrays, *, day: date, trend_horizon_days: int) -> np.ndarray:
    """Expected units per store-item on `day`. The trend is extrapolated at most
    `trend_horizon_days` past the end of the history: a sample that ended years
    ago must not compound into an absurd level."""
    latest = (profiles.history_end - profiles.reference_date).days + trend_horizon_days
    years = min((day - profiles.reference_date).days, latest) / YEAR_DAYS
    return (
        profiles.level
        * profiles.weekday_factors[:, day.weekday()]
        * profiles.month_factors[:, day.month - 1]
        * profiles.trend**years
    )


def interval_draw(
    profiles: ProfileArrays,
    *,
    day: date,
    fraction: float | np.ndarray,
    rng: np.random.Generator,
    trend_horizon_days: int,
    intervals: int = 1,
) -> np.ndarray:
    """Units sold per store-item in `intervals` consecutive intervals of `day`,
    each `fraction` of the day long (one number, or one per store-item). Returns int64 of shape (intervals, n)."""
    mean = expected_daily(profiles, day=day, trend_horizon_days=trend_horizon_days) * fraction
    # A history with returns (negative days) can fit a series whose expectation is negative or undefined; the
    # generator draws sales only, whole and non-negative: such a series draws nothing.
    mean = np.clip(np.nan_to_num(mean, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)
    extra = profiles.dispersion - 1.0
    overdispersed = extra > 1e-9
    scale = np.where(overdispersed, extra, 1.0)
    size = (intervals, len(profiles))
    rate = np.where(overdispersed, rng.gamma(shape=np.broadcast_to(mean / scale, size), scale=scale), mean)
    return rng.poisson(rate).astype("int64")
