"""Refits on a small generated history in real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.testing import history_load
from forecasting import selectors, services
from forecasting.counts import CountForecast, count_point
from forecasting.models import ForecastPoint, ForecastRun, Level, SeriesForecast
from forecasting.selectors import SeriesKey
from sales.models import DailyTotal

pytestmark = pytest.mark.django_db


def _points(run: ForecastRun, key: SeriesKey) -> list[ForecastPoint]:
    series = selectors.forecast_series_get(run=run, key=key)
    assert series is not None, key
    return selectors.forecast_points(series=series)


def test_a_refit_forecasts_every_series_over_the_horizon(small_history, settings):
    run = services.forecast_refit(days=14)
    assert run.status == ForecastRun.Status.COMPLETE
    last_day = DailyTotal.objects.order_by("-date").first().date
    assert run.training_end == last_day < timezone.localdate()
    assert SeriesForecast.objects.filter(run=run).count() == 1 + 2 + 3 + 6
    # 14 days from tomorrow, and today (the history ends yesterday): today's expected sales pace its KPI.
    assert run.training_end == timezone.localdate() - timedelta(days=1)
    expected_dates = [run.training_end + timedelta(days=i) for i in range(1, 16)]
    for series in SeriesForecast.objects.filter(run=run):
        points = list(series.points.order_by("date"))
        assert [p.date for p in points] == expected_dates, series
        for p in points:
            assert 0 <= p.lower_95 <= p.lower_80 <= p.yhat <= p.upper_80 <= p.upper_95, (series, p)
        assert not series.fallback, series.fallback_reason
        assert series.order is not None and len(series.order) == 3

    # Reconciled: the store-items' means add up to their store's, their item's and the total's on every
    # day (the published point is each series' median, which need not add up).
    def means(key: SeriesKey) -> np.ndarray:
        return np.array([p.mean for p in _points(run, key)])

    store_items = {(s, i): means(SeriesKey(Level.STORE_ITEM, s, i)) for s in (1, 2) for i in (1, 2, 3)}
    assert means(SeriesKey(Level.TOTAL)) == pytest.approx(sum(store_items.values()), rel=1e-3)
    store_1 = sum(v for (s, _), v in store_items.items() if s == 1)
    assert means(SeriesKey(Level.STORE, 1, None)) == pytest.approx(store_1, rel=1e-3)
    item_3 = sum(v for (_, i), v in store_items.items() if i == 3)
    assert means(SeriesKey(Level.ITEM, None, 3)) == pytest.approx(item_3, rel=1e-3)
    # Every level publishes the store-items' model (so the means add up), and says why.
    assert {s.model for s in SeriesForecast.objects.filter(run=run)} == {run.summary["store_item"]["model"]}


def test_a_refit_measures_itself_against_seasonal_naive(small_history):
    run = services.forecast_refit(days=7)
    assert run.holdout_days == 90
    assert set(run.summary) == {"total", "store", "item", "store_item"}
    for level, figures in run.summary.items():
        # The generator's data is what the model was built for: it must beat last week's copy.
        assert figures["smape"] < figures["naive_smape"], level
        assert figures["mae"] < figures["naive_mae"], level
        assert 0 <= figures["coverage_80"] <= figures["coverage_95"] <= 100
    series = SeriesForecast.objects.get(run=run, level=Level.STORE_ITEM, store_id=1, item_id=2)
    actual = np.array(series.backtest["actual"])
    assert len(actual) == 90
    # The stored figure is the SMAPE of the published model's backtest point (its median) against the actuals.
    published = CountForecast.from_dict(series.backtest["candidates"][series.model])
    point = count_point(published)
    assert series.accuracy["smape"] == pytest.approx(np.mean(200 * np.abs(point - actual) / (actual + point)))
    assert series.accuracy["smape"] < 25


def test_a_series_that_cannot_be_fitted_falls_back_and_is_recorded(db, tmp_path):
    def silence(frame):
        # Store 1 / item 1 stops selling a year and a half before the end: nothing to scale by.
        frame.loc[(frame["store"] == 1) & (frame["item"] == 1) & (frame["date"] >= "2016-07-01"), "sales"] = 0

    history_load(tmp_path, edit=silence)
    run = services.forecast_refit(days=10)
    assert run.status == ForecastRun.Status.COMPLETE
    assert run.fallback_count == 1
    series = SeriesForecast.objects.get(run=run, fallback=True)
    assert (series.level, series.store_id, series.item_id) == (Level.STORE_ITEM, 1, 1)
    assert "no sales in the last year" in series.fallback_reason
    assert [p.yhat for p in series.points.all()] == [0.0] * 11  # today, then 10 days from tomorrow
    detail = selectors.forecast_detail(store=1, item=1, days=10)
    assert detail.model.fallback is True
    assert detail.model.seasonal_order == [0, 1, 0, 7]
    assert run.summary["store_item"]["fallbacks"] == 1


def test_readers_see_the_previous_complete_run_until_the_new_one_is_complete(small_history):
    first = services.forecast_refit(days=7)
    before = selectors.forecast_detail(store=None, item=2, days=None)

    second, chunks = services.forecast_run_start(days=7)
    for chunk in chunks:
        services.forecast_chunk_fit(run_id=second.pk, keys=chunk)
    # Every series of the new run is fitted and stored, but it is not published yet.
    assert SeriesForecast.objects.filter(run=second).count() == first.series_count
    assert selectors.forecast_run_latest() == first
    assert selectors.forecast_detail(store=None, item=2, days=None) == before

    services.forecast_run_finish(run_id=second.pk)
    assert selectors.forecast_run_latest() == second
    assert selectors.forecast_detail(store=None, item=2, days=None).run.id == second.pk
    # The order chosen by the first run is reused while fresh, with its selection date.
    reused = SeriesForecast.objects.get(run=second, level=Level.ITEM, item_id=2)
    chosen = SeriesForecast.objects.get(run=first, level=Level.ITEM, item_id=2)
    assert (reused.order, reused.order_selected_on) == (chosen.order, chosen.order_selected_on)


def test_a_refit_of_one_store_keeps_the_other_series_and_reconciles(small_history):
    with pytest.raises(services.ForecastError, match="full refit first"):
        services.forecast_refit(days=7, store_ids=[1])
    full = services.forecast_refit(days=7)
    partial = services.forecast_refit(days=7, store_ids=[2])
    assert partial.parameters["refit_series"] == 1 + 3  # store 2 and its three store-items
    kept = SeriesForecast.objects.get(run=partial, level=Level.STORE_ITEM, store_id=1, item_id=1)
    old = SeriesForecast.objects.get(run=full, level=Level.STORE_ITEM, store_id=1, item_id=1)
    assert kept.own == old.own and kept.fitted_at == old.fitted_at
    assert SeriesForecast.objects.filter(run=partial).count() == full.series_count
    total = np.array([p.mean for p in _points(partial, SeriesKey(Level.TOTAL))])
    parts = [np.array([p.mean for p in _points(partial, SeriesKey(Level.STORE, s, None))]) for s in (1, 2)]
    assert total == pytest.approx(parts[0] + parts[1], rel=1e-4)


def test_only_the_last_runs_are_kept(small_history):
    now = timezone.now()
    old = [
        ForecastRun.objects.create(
            status=ForecastRun.Status.COMPLETE,
            started_at=now - timedelta(days=10 - i),
            finished_at=now - timedelta(days=10 - i),
            horizon_days=7,
            training_start=now.date(),
            training_end=now.date(),
        )
        for i in range(5)
    ]
    failed = ForecastRun.objects.create(
        status=ForecastRun.Status.FAILED,
        started_at=now - timedelta(days=20),
        horizon_days=7,
        training_start=now.date(),
        training_end=now.date(),
    )
    latest = services.forecast_refit(days=7)
    remaining = set(ForecastRun.objects.values_list("pk", flat=True))
    assert remaining == {latest.pk, *(r.pk for r in old[1:])}
    assert failed.pk not in remaining


def test_health_and_todays_forecast(small_history):
    assert selectors.forecast_health() == {"status": "empty", "age_seconds": None}
    assert selectors.forecast_today()["forecast"] is None
    run = services.forecast_refit(days=14)
    health = selectors.forecast_health()
    assert health["status"] == "ok" and 0 <= health["age_seconds"] < 600
    today = timezone.localdate()
    # The history ends in the week before today: today lies inside the 14-day horizon.
    assert run.training_end < today <= run.training_end + timedelta(days=14)
    total = selectors.forecast_today()
    point = ForecastPoint.objects.get(series__run=run, series__level=Level.TOTAL, date=today)
    assert total["date"] == today.isoformat()
    # The expected sales (the mean: means add up, so a selection of several series sums them).
    assert total["forecast"] == pytest.approx(point.mean, abs=0.01)
    assert total["lower_80"] == pytest.approx(point.lower_80, abs=0.01)
    both = selectors.forecast_today(store_ids=[1, 2], item_ids=None)
    assert both["forecast"] == pytest.approx(total["forecast"], rel=1e-3)
    assert both["lower_95"] <= both["lower_80"] <= both["forecast"] <= both["upper_80"] <= both["upper_95"]
    pair = selectors.forecast_today(store_ids=[1], item_ids=[3])
    assert pair["forecast"] == pytest.approx(
        ForecastPoint.objects.get(series__run=run, series__store_id=1, series__item_id=3, date=today).mean, abs=0.01
    )
    ForecastRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(hours=40))
    assert selectors.forecast_health()["status"] == "stale"


def test_command_refits_and_prints_accuracy_by_level(small_history, capsys):
    call_command("forecast", "--days", "5", "--workers", "1")
    out = capsys.readouterr().out
    assert "12 series refitted" in out
    for level in ("total", "store", "item", "store_item"):
        assert f"\n{level} " in out
    with pytest.raises(CommandError, match="unknown store 99"):
        call_command("forecast", "--store", "99")
    with pytest.raises(CommandError, match="unknown item 77"):
        call_command("forecast", "--item", "77")
    with pytest.raises(CommandError, match="--days"):
        call_command("forecast", "--days", "0")


@pytest.mark.django_db(transaction=True)
def test_command_fits_chunks_in_parallel_processes(tmp_path, capsys, monkeypatch):
    history_load(tmp_path, stores=3, items=10)
    monkeypatch.setattr(services, "CHUNK_SIZE", 8)
    call_command("forecast", "--days", "5", "--workers", "2")
    run = selectors.forecast_run_latest()
    assert run.series_count == 1 + 3 + 10 + 30
    assert ForecastPoint.objects.filter(series__run=run).count() == 44 * (1 + 5)  # today, then 5 days
    assert "44 series refitted" in capsys.readouterr().out


def test_no_history_is_a_clear_error(db):
    with pytest.raises(services.ForecastError, match="no sales history"):
        services.forecast_refit()
    with pytest.raises(CommandError, match="no sales history"):
        call_command("forecast")
    assert not ForecastRun.objects.exists()


def test_a_run_with_missing_series_fails_and_the_previous_one_stays_visible(small_history):
    first = services.forecast_refit(days=7)
    second, chunks = services.forecast_run_start(days=7)
    services.forecast_chunk_fit(run_id=second.pk, keys=chunks[0][:-1])  # one series never arrives
    with pytest.raises(services.ForecastError, match="1 of 12 series were not fitted"):
        services.forecast_run_finish(run_id=second.pk)
    second.refresh_from_db()
    assert second.status == ForecastRun.Status.FAILED
    assert "not fitted" in second.error
    assert selectors.forecast_run_latest() == first


def test_a_second_refit_cannot_start_while_one_is_running(small_history):
    running, _chunks = services.forecast_run_start(days=7)
    with pytest.raises(services.ForecastError, match=f"a refit is already running \\(run {running.pk}"):
        services.forecast_run_start(days=7)
    # A run left "running" by a dead worker stops blocking once it has timed out.
    ForecastRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - services.RUNNING_TIMEOUT * 2)
    fresh, _chunks = services.forecast_run_start(days=7)
    running.refresh_from_db()
    assert running.status == ForecastRun.Status.FAILED
    assert fresh.status == ForecastRun.Status.RUNNING


def test_a_load_supersedes_a_running_refit_instead_of_mixing_old_and_new_history(small_history):
    old, old_chunks = services.forecast_run_start(days=7)
    fresh, _chunks = services.forecast_run_start(days=7, supersede_running=True)
    old.refresh_from_db()
    assert old.status == ForecastRun.Status.FAILED and old.error == services.SUPERSEDED
    assert fresh.status == ForecastRun.Status.RUNNING
    # The superseded run's chunks and finish, still queued somewhere, do nothing.
    assert services.forecast_chunk_fit(run_id=old.pk, keys=old_chunks[0]) == 0
    assert services.forecast_run_finish(run_id=old.pk).status == ForecastRun.Status.FAILED


def test_the_refit_task_waits_for_a_running_refit_instead_of_dropping_out(small_history):
    # Run eagerly, Celery replays each retry at once: every attempt found the refit running,
    # so the task gave up only after its retries and started nothing.
    from celery.exceptions import MaxRetriesExceededError

    from forecasting.tasks import forecast_refit_all

    running, _chunks = services.forecast_run_start(days=7)
    result = forecast_refit_all.apply(kwargs={"days": 7})
    assert isinstance(result.result, MaxRetriesExceededError)
    assert list(ForecastRun.objects.values_list("pk", "status")) == [(running.pk, ForecastRun.Status.RUNNING)]


def test_a_partial_refit_also_fits_series_that_appeared_after_the_last_run(small_history):
    from sales.models import Item
    from sales.services import SaleRow, sales_record_batch

    full = services.forecast_refit(days=7)
    Item.objects.create(id=9, code="9", name="Item 9")
    sales_record_batch(rows=[SaleRow(date=timezone.localdate(), store_id=2, item_id=9, sales=4)])
    partial = services.forecast_refit(days=7, store_ids=[1])
    assert partial.status == ForecastRun.Status.COMPLETE
    assert partial.series_count == full.series_count + 2  # item 9 and store 2 x item 9
    assert SeriesForecast.objects.filter(run=partial, level=Level.ITEM, item_id=9).exists()
    assert SeriesForecast.objects.filter(run=partial, level=Level.STORE_ITEM, store_id=2, item_id=9).exists()
