"""The model on realistic shapes (generate_sample --shape retail), refitted in real PostgreSQL:
a closure every 25 December, the rush before it, a product launched 60 days ago, the chosen
model recorded and returned by the API, and means that add up."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from forecasting import services
from forecasting.candidates import CANDIDATES
from forecasting.models import ForecastPoint, Level, SeriesForecast
from sales.sample import sample_generate
from sales.services import sales_load_csv

pytestmark = pytest.mark.django_db
URL = "/api/sales/predictions"


@pytest.fixture
def retail_run(tmp_path):
    # Ending three days ago, so that loading aligned to today shifts nothing: 25 December stays 25 December.
    end = timezone.localdate() - timedelta(days=3)
    path = tmp_path / "train.csv"
    sample_generate(path=path, stores=2, items=3, start=end - timedelta(days=3 * 365), end=end, shape="retail")
    frame = pd.read_csv(path)
    launch = (end - timedelta(days=59)).isoformat()
    # Item 3 was launched 60 days ago: no rows before.
    frame = frame[(frame["item"] != 3) | (frame["date"] >= launch)]
    frame.to_csv(path, index=False)
    sales_load_csv(path=path, align_to_today=True, followups=False)
    # A year ahead, so that the next 25 December is inside the horizon whatever today is.
    return services.forecast_refit(days=365)


def _series(run, level, store=None, item=None) -> SeriesForecast:
    return SeriesForecast.objects.get(run=run, level=level, store_id=store, item_id=item)


def test_a_retail_history_closed_every_christmas_is_forecast_closed_with_its_rush(retail_run, client):
    run = retail_run
    assert run.parameters["design"]["closures"] == ["12-25"]
    christmas = next(
        run.training_end + timedelta(days=i)
        for i in range(1, 366)
        if (run.training_end + timedelta(days=i)).strftime("%m-%d") == "12-25"
    )
    on_christmas = ForecastPoint.objects.filter(series__run=run, date=christmas)
    assert on_christmas.count() == run.series_count
    assert set(on_christmas.values_list("yhat", "upper_95")) == {(0.0, 0.0)}
    total = _series(run, Level.TOTAL)
    rush = total.points.filter(date__gte=christmas - timedelta(days=5), date__lt=christmas)
    before = total.points.filter(date__gte=christmas - timedelta(days=30), date__lt=christmas - timedelta(days=14))
    assert np.mean([p.mean for p in rush]) > 1.2 * np.mean([p.mean for p in before])
    # The panel shows the learnt effects: the closure and the rush days with their size.
    body = client.get(URL).json()
    assert body["model"]["closures"] == ["12-25"]
    if body["model"]["id"] == "calendar":
        effects = {h["date"]: h["effect"] for h in body["model"]["holidays"]}
        assert effects.get("12-24", 0) > 0.2


def test_a_product_launched_60_days_ago_gets_a_forecast_shaped_like_its_peers(retail_run):
    run = retail_run
    series = _series(run, Level.STORE_ITEM, 1, 3)
    assert not series.fallback, series.fallback_reason
    recent = ForecastPoint.objects.filter(series=series).order_by("date")[:28]
    means = np.array([p.mean for p in recent])
    actual = np.array(series.backtest["actual"][-60:])
    level = actual[actual > 0].mean()
    assert 0.5 < means.mean() / level < 2.0
    assert means.std() > 0, "not a flat line"


def test_the_chosen_model_is_recorded_returned_and_the_means_add_up(retail_run, client):
    run = retail_run
    store_items = run.summary["store_item"]
    assert store_items["model"] in CANDIDATES
    # On this shape the per-series calendar wins, and beats the company-wide one.
    assert store_items["model"] == "calendar"
    assert store_items["candidates"]["calendar"] < store_items["candidates"]["pooled"]
    for level in Level.values:
        figures = run.summary[level]
        best_naive = min(figures["candidates"]["seasonal_naive"], figures["candidates"]["last_year"])
        assert figures["candidates"][figures["model"]] <= best_naive, level
    for series in SeriesForecast.objects.filter(run=run):
        assert series.model == run.summary[series.level]["model"]
        assert series.model_reason == run.summary[series.level]["model_reason"]
    body = client.get(URL, {"store": 2, "item": 1}).json()
    assert body["model"]["id"] == "calendar"
    assert body["model_reason"] == store_items["model_reason"]
    assert body["point"] == "median"
    # Means add up: the store-items' means are their store's, item's and total's (bottom-up).
    dates = [run.training_end + timedelta(days=i) for i in (1, 50, 200)]
    for day in dates:
        points = {
            (p.series.level, p.series.store_id, p.series.item_id): p.mean
            for p in ForecastPoint.objects.filter(series__run=run, date=day).select_related("series")
        }
        bottom = {k: v for k, v in points.items() if k[0] == Level.STORE_ITEM}
        assert points[(Level.TOTAL, None, None)] == pytest.approx(sum(bottom.values()), rel=1e-3)
        for store in (1, 2):
            parts = sum(v for k, v in bottom.items() if k[1] == store)
            assert points[(Level.STORE, store, None)] == pytest.approx(parts, rel=1e-3)
