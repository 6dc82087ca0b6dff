"""The generator against the history it was fitted on: many simulated days,
fixed seed, no waiting."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from core.testing import history_load
from streaming import selectors, services, simulation

INTERVALS_PER_DAY = 96  # 15-minute ticks: the daily sum of many small draws is what is checked


def simulate_days(profiles: simulation.ProfileArrays, days: list[date], *, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for day in days:
        units = simulation.interval_draw(
            profiles,
            day=day,
            fraction=1 / INTERVALS_PER_DAY,
            rng=rng,
            trend_horizon_days=365,
            intervals=INTERVALS_PER_DAY,
        ).sum(axis=0)
        frames.append(
            pd.DataFrame(
                {"date": pd.Timestamp(day), "store": profiles.store_ids, "item": profiles.item_ids, "sales": units}
            )
        )
    return pd.concat(frames, ignore_index=True)


def spearman(a: pd.Series, b: pd.Series) -> float:
    return float(np.corrcoef(a.rank(), b.reindex(a.index).rank())[0, 1])


@pytest.mark.django_db
def test_a_simulated_year_matches_the_history_it_was_fitted_on(tmp_path):
    history = history_load(
        tmp_path, stores=4, items=6, start=date(2015, 1, 1), end=date(2017, 12, 31), seed=7, align_to_today=False
    ).frame
    assert services.profile_fit() == 24
    profiles = selectors.profile_arrays()
    last_year = history[history["date"] >= "2017-01-01"]
    generated = simulate_days(profiles, [date(2017, 1, 1) + timedelta(days=k) for k in range(365)], seed=20261124)

    keys = ["store", "item"]
    real = last_year.groupby(keys)["sales"].agg(["mean", "std"])
    sim = generated.groupby(keys)["sales"].agg(["mean", "std"]).reindex(real.index)
    # Per store-item daily mean within 5 %; standard deviation within 15 % (the sampling error of
    # a 365-day std is about 4 % on each side, and this is the worst of 24) and 5 % at the median.
    mean_error = (sim["mean"] / real["mean"] - 1).abs()
    std_error = (sim["std"] / real["std"] - 1).abs()
    assert mean_error.max() < 0.05, mean_error.sort_values().tail()
    assert std_error.max() < 0.15, std_error.sort_values().tail()
    assert std_error.median() < 0.05

    # Weekday seasonality: each weekday's share of the average day within 0.03.
    def weekday_ratio(frame):
        by_day = frame.groupby(frame["date"].dt.day_of_week)["sales"].mean()
        return by_day / by_day.mean()

    assert (weekday_ratio(generated) - weekday_ratio(last_year)).abs().max() < 0.03
    assert weekday_ratio(generated).idxmax() == weekday_ratio(last_year).idxmax()

    # Month seasonality (the curve over the year) within 0.05.
    def month_ratio(frame):
        by_month = frame.groupby(frame["date"].dt.month)["sales"].mean()
        return by_month / by_month.mean()

    assert (month_ratio(generated) - month_ratio(last_year).reindex(range(1, 13))).abs().max() < 0.05

    # Store and item variation: the ranking by volume is kept, the overall level within 2 %.
    for key in ("store", "item"):
        real_totals = last_year.groupby(key)["sales"].sum()
        sim_totals = generated.groupby(key)["sales"].sum()
        assert spearman(real_totals, sim_totals) > 0.95, (key, real_totals, sim_totals)
        assert sim_totals.idxmax() == real_totals.idxmax()
    assert abs(generated["sales"].sum() / last_year["sales"].sum() - 1) < 0.02


def test_daily_variance_is_the_same_however_the_day_is_cut():
    """Gamma-Poisson intervals: the day's variance is dispersion x mean for any interval length."""
    profiles = simulation.ProfileArrays(
        store_ids=np.array([1, 1]),
        item_ids=np.array([1, 2]),
        level=np.array([40.0, 5.0]),
        trend=np.array([1.0, 1.0]),
        dispersion=np.array([3.0, 1.0]),
        weekday_factors=np.ones((2, 7)),
        month_factors=np.ones((2, 12)),
        reference_date=date(2024, 1, 1),
        history_end=date(2024, 7, 1),
    )
    rng = np.random.default_rng(5)
    for intervals in (1, 24, 1440):
        days = np.stack(
            [
                simulation.interval_draw(
                    profiles,
                    day=date(2024, 3, 6),
                    fraction=1 / intervals,
                    rng=rng,
                    trend_horizon_days=0,
                    intervals=intervals,
                ).sum(axis=0)
                for _ in range(3000)
            ]
        )
        assert days.mean(axis=0) == pytest.approx([40.0, 5.0], rel=0.03)
        assert days.var(axis=0) == pytest.approx([120.0, 5.0], rel=0.1), intervals


def test_the_trend_stops_at_the_horizon():
    profiles = simulation.ProfileArrays(
        store_ids=np.array([1]),
        item_ids=np.array([1]),
        level=np.array([10.0]),
        trend=np.array([1.5]),
        dispersion=np.array([1.0]),
        weekday_factors=np.ones((1, 7)),
        month_factors=np.ones((1, 12)),
        reference_date=date(2017, 7, 2),
        history_end=date(2017, 12, 31),
    )
    a_year_on = simulation.expected_daily(profiles, day=date(2018, 7, 2), trend_horizon_days=365)
    years_on = simulation.expected_daily(profiles, day=date(2026, 11, 24), trend_horizon_days=365)
    assert a_year_on[0] == pytest.approx(15.0, rel=0.01)
    assert years_on[0] == pytest.approx(10 * 1.5 ** ((365 + 182) / 365.25), rel=0.01)


@pytest.mark.django_db
def test_profiles_fitted_a_few_items_at_a_time_equal_one_pass(tmp_path, monkeypatch):
    # profile_fit reads the history a group of items at a time (bounded memory at any size): the
    # profiles must not depend on where the groups split.
    from streaming.models import SalesProfile

    history_load(
        tmp_path, stores=3, items=7, start=date(2015, 1, 1), end=date(2017, 12, 31), seed=7, align_to_today=False
    )

    def fitted() -> dict[tuple[int, int], tuple]:
        return {
            (p.store_id, p.item_id): (
                p.level,
                p.trend,
                p.dispersion,
                *p.weekday_factors,
                *p.month_factors,
                p.reference_date.toordinal(),
                p.history_end.toordinal(),
            )
            for p in SalesProfile.objects.all()
        }

    assert services.profile_fit() == 21
    one_pass = fitted()
    monkeypatch.setattr(services, "PROFILE_CHUNK_ROWS", 7_000)  # 3 stores x 1,096 days: 2 items a group
    assert services.profile_fit() == 21
    in_groups = fitted()
    assert in_groups.keys() == one_pass.keys()
    for key, values in one_pass.items():
        assert in_groups[key] == pytest.approx(values, rel=1e-9), key


def test_a_series_fitted_negative_from_returns_draws_nothing_and_never_fails():
    profiles = simulation.ProfileArrays(
        store_ids=np.array([1, 1, 1]),
        item_ids=np.array([1, 2, 3]),
        level=np.array([-2.0, np.nan, 5.0]),
        trend=np.array([1.0, 1.0, 1.0]),
        dispersion=np.array([1.5, 1.0, 1.0]),
        weekday_factors=np.ones((3, 7)),
        month_factors=np.ones((3, 12)),
        reference_date=date(2026, 6, 1),
        history_end=date(2026, 12, 1),
    )
    units = simulation.interval_draw(
        profiles, day=date(2026, 12, 2), fraction=1.0, rng=np.random.default_rng(1), trend_horizon_days=365
    )[0]
    assert units.dtype == np.int64
    assert units[0] == 0 and units[1] == 0 and units[2] >= 0
