"""Realistic train.csv samples (date,store,item,sales), in three shapes.

- `tidy`: the shape of the public store-item demand data. Daily units per (store, item) are
  Poisson draws around base x store effect x item effect x weekday x month x yearly growth
  (one company-wide calendar), which gives a mean of about 52 and a standard deviation of
  about 29 per row for the default 10 stores x 50 items x 5 years (913,000 rows).
- `retail`: each item has its own yearly peak (summer goods, winter goods) and its own
  weekend effect; stores trend apart; every store is closed on 25 December and sells more
  in the week before it.
- `slow`: slow movers (0, 1 or 2 units a day, Poisson), about 1 % of rows missing (a missing
  row is a day without sales, see `load_train --help`), and some products launched in the
  last 500 days (no rows before their launch).

The file is written one item at a time, so memory stays bounded by one item's rows. The
generator knows the true rates, so it also returns the noise floor: the store-item SMAPE,
over the last FLOOR_DAYS days, of the best forecast there can be (the true rate's mean or
median, whichever scores better).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

# Monday..Sunday and January..December, as seen in the public data (relative levels).
WEEKDAY_EFFECT = np.array([0.81, 0.95, 0.95, 1.01, 1.07, 1.13, 1.19])
MONTH_EFFECT = np.array([0.74, 0.80, 0.93, 1.04, 1.10, 1.16, 1.23, 1.10, 1.02, 0.98, 1.03, 0.83])
YEARLY_GROWTH = 0.065
TARGET_MEAN = 52.3
SLOW_TARGET_MEAN = 0.9
# Relative sales in the days before Christmas (18..24 December) in the retail shape.
CHRISTMAS_RUSH = np.array([1.1, 1.15, 1.2, 1.3, 1.4, 1.55, 1.7])
SLOW_MISSING_SHARE = 0.01
SLOW_LAUNCHED_SHARE = 0.2
LAUNCH_WINDOW_DAYS = 500
FLOOR_DAYS = 90
SHAPES = ("tidy", "retail", "slow")

# Written one item at a time, so memory stays flat whatever the size (tens of millions of rows); this bound
# only keeps a typo from filling the disk (about 21 bytes a row: 500 million rows are some 10 GB).
MAX_ROWS = 500_000_000


@dataclass(frozen=True)
class SampleSummary:
    """What was written: rows, and the store-item noise floor (SMAPE of the true rates' mean or
    median, whichever is lower) over the last `floor_days` days (days before a launch left out)."""

    rows: int
    shape: str
    noise_floor_smape: float
    floor_point: str
    floor_days: int


def sample_generate(
    *,
    path: Path,
    stores: int = 10,
    items: int = 50,
    start: date = date(2013, 1, 1),
    end: date = date(2017, 12, 31),
    seed: int = 42,
    shape: str = "tidy",
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write the sample to `path` (date,store,item,sales; sorted by item, store, date like the
    public file), one item at a time. `progress(rows_written, rows)` after each item."""
    if stores < 1 or items < 1:
        raise ValueError("stores and items must be at least 1")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if seed < 0:
        raise ValueError(f"seed {seed} must not be negative")
    if shape not in SHAPES:
        raise ValueError(f"shape {shape!r} is not one of {', '.join(SHAPES)}")
    day_count = (end - start).days + 1
    rows = stores * items * day_count
    if rows > MAX_ROWS:
        message = f"{stores} stores x {items} items x {day_count} days is {rows:,} rows; at most {MAX_ROWS:,}"
        raise ValueError(message)
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    levels = {"tidy": _tidy_levels, "retail": _retail_levels, "slow": _slow_levels}[shape]
    labels = days.strftime("%Y-%m-%d").to_numpy()
    floor = _FloorTally(days=min(FLOOR_DAYS, day_count))
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        out.write("date,store,item,sales\n")
        for item, level, present in levels(rng=rng, days=days, stores=stores, items=items):
            sales = rng.poisson(level)
            if present is not None:
                sales = np.where(present, sales, 0)
            floor.add(rate=level, actual=sales, live=level > 0 if present is not None else None)
            store_idx, day_idx = np.nonzero(present) if present is not None else np.indices(sales.shape)
            chunk = pd.DataFrame(
                {
                    "date": labels[day_idx.ravel()],
                    "store": store_idx.ravel() + 1,
                    "item": item + 1,
                    "sales": sales[store_idx.ravel(), day_idx.ravel()],
                }
            )
            chunk.to_csv(out, index=False, header=False)
            written += len(chunk)
            if progress is not None:
                progress(written, rows)
    point, value = floor.result()
    return SampleSummary(rows=written, shape=shape, noise_floor_smape=value, floor_point=point, floor_days=floor.days)


Levels = Iterator[tuple[int, np.ndarray, np.ndarray | None]]


def _tidy_levels(*, rng: np.random.Generator, days: pd.DatetimeIndex, stores: int, items: int) -> Levels:
    """One company-wide calendar times a store and an item effect. Yields (item, rates[store, day], None)."""
    # Spread of the public data: stores within about 0.65-1.35, items within 0.3-2.5.
    store_effect = np.sort(rng.lognormal(0.0, 0.22, stores))[rng.permutation(stores)]
    item_effect = rng.lognormal(0.0, 0.55, items)
    years = (days - days[0]).days.to_numpy() / 365.25
    weekday = WEEKDAY_EFFECT[days.day_of_week]
    calendar = weekday * MONTH_EFFECT[days.month - 1] * np.exp(YEARLY_GROWTH * years)
    # Smooth the month steps a little so the yearly curve is not a staircase (keeping the weekday pattern).
    smooth = pd.Series(calendar).rolling(15, center=True, min_periods=1).mean().to_numpy()
    calendar = smooth * weekday / pd.Series(weekday).rolling(15, center=True, min_periods=1).mean().to_numpy()
    scale = TARGET_MEAN / (store_effect.mean() * item_effect.mean() * calendar.mean())
    for item in range(items):
        yield item, scale * item_effect[item] * np.outer(store_effect, calendar), None


def _item_calendars(*, rng: np.random.Generator, days: pd.DatetimeIndex, items: int) -> np.ndarray:
    """Per item: its own yearly peak (day and strength) and its own weekend effect. Returns [item, day]."""
    peak_day = rng.uniform(0, 365.25, items)
    strength = rng.uniform(0.1, 0.5, items)
    weekend = rng.uniform(-0.3, 0.5, items)  # log effect of Saturday and Sunday: some items sell less then
    day_of_year = np.asarray(days.day_of_year)
    is_weekend = np.asarray(days.day_of_week >= 5)
    angle = 2 * math.pi * (day_of_year[None, :] - peak_day[:, None]) / 365.25
    log_level = strength[:, None] * np.cos(angle) + weekend[:, None] * is_weekend[None, :]
    weekday = np.log(WEEKDAY_EFFECT[days.day_of_week])[None, :] * 0.5  # a milder shared weekday pattern
    return np.exp(log_level + weekday)


def _christmas(days: pd.DatetimeIndex) -> np.ndarray:
    """Multiplier per day: 0 on 25 December, CHRISTMAS_RUSH on the seven days before."""
    factor = np.ones(len(days))
    december = np.asarray(days.month == 12)
    day = np.asarray(days.day)
    factor[december & (day == 25)] = 0.0
    for offset, rush in enumerate(CHRISTMAS_RUSH):
        factor[december & (day == 18 + offset)] = rush
    return factor


def _retail_levels(*, rng: np.random.Generator, days: pd.DatetimeIndex, stores: int, items: int) -> Levels:
    """Items with their own season and weekend, stores trending apart, closed on Christmas Day."""
    store_effect = rng.lognormal(0.0, 0.22, stores)
    store_growth = rng.normal(0.04, 0.08, stores)  # per year: some stores shrink, some grow fast
    item_effect = rng.lognormal(0.0, 0.55, items)
    item_calendar = _item_calendars(rng=rng, days=days, items=items)
    years = (days - days[0]).days.to_numpy() / 365.25
    store_curve = store_effect[:, None] * np.exp(store_growth[:, None] * years[None, :])
    christmas = _christmas(days)
    scale = TARGET_MEAN / (store_curve.mean() * item_effect.mean() * item_calendar.mean())
    for item in range(items):
        yield item, scale * item_effect[item] * store_curve * (item_calendar[item] * christmas)[None, :], None


def _slow_levels(*, rng: np.random.Generator, days: pd.DatetimeIndex, stores: int, items: int) -> Levels:
    """Slow movers with their own mild season and weekend, a few missing rows, and recent launches."""
    store_effect = rng.lognormal(0.0, 0.3, stores)
    item_effect = rng.lognormal(0.0, 0.5, items)
    item_calendar = _item_calendars(rng=rng, days=days, items=items) ** 0.6
    launched = rng.random(items) < SLOW_LAUNCHED_SHARE
    launch_day = len(days) - rng.integers(60, LAUNCH_WINDOW_DAYS, items)
    scale = SLOW_TARGET_MEAN / (store_effect.mean() * item_effect.mean() * item_calendar.mean())
    for item in range(items):
        level = scale * item_effect[item] * np.outer(store_effect, item_calendar[item])
        present = rng.random(level.shape) >= SLOW_MISSING_SHARE
        if launched[item]:
            level[:, : max(launch_day[item], 0)] = 0.0
            present[:, : max(launch_day[item], 0)] = False
        yield item, level, present


class _FloorTally:
    """SMAPE of the true rates' mean and median against the drawn sales, per store-item series over
    the last `days` days, averaged over series (as the forecast backtest averages them)."""

    def __init__(self, *, days: int) -> None:
        self.days = days
        self.sums = {"mean": 0.0, "median": 0.0}
        self.series = 0

    def add(self, *, rate: np.ndarray, actual: np.ndarray, live: np.ndarray | None) -> None:
        rate, actual = rate[:, -self.days :], actual[:, -self.days :].astype(float)
        live = np.ones_like(rate, dtype=bool) if live is None else live[:, -self.days :]
        median = stats.poisson.median(np.maximum(rate, 1e-12))
        for name, point in (("mean", rate), ("median", median)):
            denominator = point + actual
            terms = np.divide(200 * np.abs(point - actual), denominator, out=np.zeros_like(rate), where=denominator > 0)
            counted = live.sum(axis=1)
            with np.errstate(invalid="ignore"):
                per_series = np.where(counted > 0, (terms * live).sum(axis=1) / np.maximum(counted, 1), np.nan)
            self.sums[name] += float(np.nansum(per_series))
        self.series += int((live.sum(axis=1) > 0).sum())

    def result(self) -> tuple[str, float]:
        if not self.series:
            return "mean", math.nan
        point = min(self.sums, key=lambda name: self.sums[name])
        return point, self.sums[point] / self.series
