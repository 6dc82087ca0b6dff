"""`generate_sample`: the shape of the public store-item data, reproducible by
seed, and loadable by `load_train`."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from sales.models import DailyTotal, Sale
from sales.sample import WEEKDAY_EFFECT, sample_generate


def test_it_writes_one_row_per_day_store_and_item(tmp_path):
    path = tmp_path / "sample.csv"
    summary = sample_generate(path=path, stores=3, items=4, start=date(2016, 2, 1), end=date(2016, 3, 31))

    frame = pd.read_csv(path)
    assert summary.rows == len(frame) == 3 * 4 * 60
    assert list(frame.columns) == ["date", "store", "item", "sales"]
    assert sorted(frame["store"].unique()) == [1, 2, 3] and sorted(frame["item"].unique()) == [1, 2, 3, 4]
    assert (frame["date"].min(), frame["date"].max()) == ("2016-02-01", "2016-03-31")
    assert not frame.duplicated(["date", "store", "item"]).any()
    assert (frame["sales"] >= 0).all()


def test_the_same_seed_gives_the_same_file_and_another_seed_another(tmp_path):
    first, again, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    for path, seed in ((first, 7), (again, 7), (other, 8)):
        sample_generate(path=path, stores=2, items=3, start=date(2016, 1, 1), end=date(2016, 6, 30), seed=seed)
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_its_statistics_look_like_the_public_data(tmp_path):
    path = tmp_path / "year.csv"
    sample_generate(path=path, stores=10, items=50, start=date(2013, 1, 1), end=date(2013, 12, 31))
    frame = pd.read_csv(path, parse_dates=["date"])

    assert 49 <= frame["sales"].mean() <= 56
    assert 24 <= frame["sales"].std() <= 34
    # Weekends sell more than Mondays, as in the real data.
    by_weekday = frame.groupby(frame["date"].dt.day_of_week)["sales"].mean()
    assert by_weekday.idxmax() == int(WEEKDAY_EFFECT.argmax()) and by_weekday.idxmin() == int(WEEKDAY_EFFECT.argmin())


def test_the_retail_shape_closes_on_christmas_day_and_sells_more_the_week_before(tmp_path):
    path = tmp_path / "retail.csv"
    summary = sample_generate(
        path=path, stores=3, items=4, start=date(2015, 1, 1), end=date(2016, 12, 31), shape="retail"
    )
    frame = pd.read_csv(path, parse_dates=["date"])
    daily = frame.groupby("date")["sales"].sum()

    assert summary.rows == len(frame) == 3 * 4 * 731
    for year in (2015, 2016):
        assert daily[f"{year}-12-25"] == 0
        rush = daily[f"{year}-12-18" : f"{year}-12-24"].mean()
        assert rush > 1.2 * daily[f"{year}-11-20" : f"{year}-12-10"].mean()
    # Each item has its own yearly peak: the items do not all peak in the same month.
    by_month = frame.groupby(["item", frame["date"].dt.month])["sales"].mean().unstack()
    assert by_month.idxmax(axis=1).nunique() > 1
    assert 5 < summary.noise_floor_smape < 30


def test_the_slow_shape_has_low_counts_gaps_and_recent_launches(tmp_path):
    path = tmp_path / "slow.csv"
    end = date(2016, 12, 31)
    summary = sample_generate(path=path, stores=4, items=20, start=date(2014, 1, 1), end=end, shape="slow", seed=3)
    frame = pd.read_csv(path, parse_dates=["date"])

    assert frame["sales"].mean() < 2.5 and frame["sales"].median() <= 2
    first_sale = frame.groupby("item")["date"].min()
    recent = first_sale[first_sale > pd.Timestamp(end) - pd.Timedelta(days=500)]
    assert len(recent) >= 1, "some products launched in the last 500 days"
    full_rows = 4 * 20 * ((end - date(2014, 1, 1)).days + 1)
    assert summary.rows == len(frame) < full_rows
    # About 1 % of the series' days are missing, beyond the days before a launch.
    days_alive = sum(4 * ((end - d.date()).days + 1) for d in first_sale)
    assert 0.005 < 1 - len(frame) / days_alive < 0.02
    assert summary.floor_point in ("mean", "median") and summary.noise_floor_smape > 40


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": "lumpy"}, "shape 'lumpy' is not one of tidy, retail, slow"),
        ({"stores": 0}, "at least 1"),
        ({"end": date(2012, 1, 1)}, "before"),
        ({"seed": -1}, "seed -1 must not be negative"),
        ({"stores": 1_000_000, "items": 1000}, "at most 500,000,000"),
    ],
)
def test_impossible_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_generate(path=tmp_path / "x.csv", **kwargs)


@pytest.mark.django_db(transaction=True)
def test_the_command_output_loads(tmp_path):
    path = tmp_path / "sample.csv"
    out = io.StringIO()
    call_command(
        "generate_sample",
        str(path),
        "--stores",
        "2",
        "--items",
        "3",
        "--start",
        "2016-01-01",
        "--end",
        "2016-01-31",
        stdout=out,
    )
    assert "wrote 186 rows" in out.getvalue()
    assert "noise floor: store-item SMAPE" in out.getvalue()

    call_command("load_train", str(path), "--no-followups", stdout=out)

    frame = pd.read_csv(path)
    assert Sale.objects.count() == 186
    assert DailyTotal.objects.count() == 31
    assert DailyTotal.objects.get(date=date(2016, 1, 1) + timedelta(days=30)).sales == int(
        frame.loc[frame["date"] == "2016-01-31", "sales"].sum()
    )


@pytest.mark.parametrize(
    ("setup", "arguments", "message"),
    [
        (lambda p: p.write_text("date,store,item,sales\n"), [], "exists; pass --force"),
        (lambda p: p.mkdir(), ["--force"], "cannot write"),
        (lambda p: None, ["--seed", "-3"], "seed -3 must not be negative"),
    ],
)
def test_the_command_refuses_with_a_clear_line(tmp_path, setup, arguments, message):
    path = tmp_path / "train.csv"
    setup(path)
    args = [str(path), "--stores", "1", "--items", "1", "--start", "2016-01-01", "--end", "2016-01-02", *arguments]
    with pytest.raises(CommandError, match=message):
        call_command("generate_sample", *args)


def test_force_overwrites(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("old")
    call_command(
        "generate_sample",
        str(path),
        "--force",
        "--stores",
        "1",
        "--items",
        "1",
        "--end",
        "2013-01-02",
        stdout=io.StringIO(),
    )
    assert path.read_text().startswith("date,store,item,sales")
